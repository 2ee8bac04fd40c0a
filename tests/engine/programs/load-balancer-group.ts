/**
 * Test program extension (tests/engine.test.ts): a load balancer of the user's own next to an AWS fleet, with a
 * security group that admits 443 from the internet. That group is the load balancer's, not a server's: NET-6 must
 * let it pass at a first preview too, when neither the group's id nor the load balancer's list of groups is known.
 */
import * as aws from "@pulumi/aws";

export = () => {
    const group = new aws.ec2.SecurityGroup("extra-lb-group", {
        description: "HTTPS from anywhere, for the extra load balancer",
        ingress: [{ description: "HTTPS", protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }],
    });
    new aws.lb.LoadBalancer("extra-nlb", { loadBalancerType: "network", internal: false, securityGroups: [group.id] });
};
