/**
 * Test program extension (tests/engine.test.ts): what a user might add next to an AWS fleet, a security group rule
 * on the app servers' group that opens 443 to the internet, registered in the same program. At a first preview the
 * group's id is unknown; NET-6 must still tie the rule to the group (the engine's property dependencies).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export = (exported: { appFirewallId: pulumi.Output<string> }) => {
    new aws.vpc.SecurityGroupIngressRule("web-https-anywhere", { securityGroupId: exported.appFirewallId, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" });
};
