/**
 * NetworkLoadBalancer: an AWS fleet's entry point (issue 15), the AWS counterpart of components/load-balancer.ts.
 * An internet-facing network load balancer with a fixed Elastic IP per zone (the domain's A records) passes TCP on
 * 80 and 443 through to the app servers with the PROXY protocol v2 header, so nginx on each server still terminates
 * TLS (the checklist's TLS and header controls judge nginx) and sees each client's address (PX-4). Client address
 * preservation is off: the servers see connections from the load balancer's own subnets only, which is all their
 * security group and ufw admit on the web ports (NET-6). A target leaves the rotation when nginx's health listener
 * stops answering 2xx for the app's health path (NET-7).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AWS_HEALTH_CHECK } from "../lib/fleet";
import { LOAD_BALANCER_PORTS } from "./load-balancer";

export interface NetworkLoadBalancerArgs {
    /** Name of the load balancer and prefix of its target groups' names at AWS, e.g. `webapp-prod` (at most 26 characters). Required. */
    lbName: string;
    /** The fleet VPC (components/fleet-vpc.ts). Required. */
    vpcId: pulumi.Input<string>;
    /** The load balancer's subnets, one per zone (components/fleet-vpc.ts `loadBalancerSubnetIds`). Required, non-empty. */
    subnetIds: pulumi.Input<string>[];
    /** Instance ids of the app servers, the targets. Required, non-empty. */
    instanceIds: pulumi.Input<string>[];
    /** The app's health path, checked on every target. Required. */
    healthPath: string;
    /** Port of nginx's health listener on the targets. Required. */
    healthPort: number;
    /** Deletion protection of the load balancer, Pulumi `protect` of it and its addresses (PROT-1). Default: false. */
    protect?: boolean;
    /** Tags. Default: none. */
    tags?: Record<string, string>;
}

export class NetworkLoadBalancer extends pulumi.ComponentResource {
    /** The fixed public IPv4 addresses, one per zone: the domain's A records. */
    public readonly ipv4s: pulumi.Output<string>[];
    /** The load balancer's DNS name (an alias or CNAME target where the DNS allows one). */
    public readonly dnsName: pulumi.Output<string>;

    constructor(name: string, args: NetworkLoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
        if (args.instanceIds.length === 0) throw new Error(`NetworkLoadBalancer ${name}: instanceIds is empty`);
        if (args.subnetIds.length === 0) throw new Error(`NetworkLoadBalancer ${name}: subnetIds is empty`);
        if (args.lbName.length > 26) throw new Error(`NetworkLoadBalancer ${name}: lbName ${JSON.stringify(args.lbName)} is longer than 26 characters (AWS allows 32 for a target group's name, which adds -tcp443)`);
        super("webapp:network:NetworkLoadBalancer", name, args, opts);
        const protect = args.protect ?? false;
        const tags = args.tags ?? {};
        const eips = args.subnetIds.map((_, k) => new aws.ec2.Eip(`${name}-address-${k}`, { domain: "vpc", tags: { ...tags, Name: `${args.lbName}-lb-${k}` } }, { parent: this, protect }));
        const lb = new aws.lb.LoadBalancer(
            `${name}-nlb`,
            {
                name: args.lbName,
                loadBalancerType: "network",
                internal: false,
                ipAddressType: "ipv4",
                subnetMappings: args.subnetIds.map((subnetId, k) => ({ subnetId, allocationId: eips[k].allocationId })),
                // A zone whose servers are all draining still passes connections to the other zone's.
                enableCrossZoneLoadBalancing: true,
                enableDeletionProtection: protect,
                tags,
            },
            { parent: this, protect },
        );
        for (const port of LOAD_BALANCER_PORTS) {
            const group = new aws.lb.TargetGroup(
                `${name}-tcp${port}`,
                {
                    name: `${args.lbName}-tcp${port}`,
                    vpcId: args.vpcId,
                    targetType: "instance",
                    protocol: "TCP",
                    port,
                    proxyProtocolV2: true,
                    preserveClientIp: "false",
                    // A drained server has left the rotation before its restart (lib/fleet.ts AWS_ROLLING).
                    deregistrationDelay: 30,
                    healthCheck: {
                        enabled: true,
                        protocol: "HTTP",
                        port: String(args.healthPort),
                        path: args.healthPath,
                        matcher: "200-299",
                        interval: AWS_HEALTH_CHECK.intervalSeconds,
                        timeout: AWS_HEALTH_CHECK.timeoutSeconds,
                        healthyThreshold: AWS_HEALTH_CHECK.healthyThreshold,
                        unhealthyThreshold: AWS_HEALTH_CHECK.unhealthyThreshold,
                    },
                    tags,
                },
                { parent: this },
            );
            args.instanceIds.forEach((targetId, i) => {
                new aws.lb.TargetGroupAttachment(`${name}-tcp${port}-target-${i}`, { targetGroupArn: group.arn, targetId, port }, { parent: this });
            });
            new aws.lb.Listener(
                `${name}-listener-${port}`,
                { loadBalancerArn: lb.arn, protocol: "TCP", port, defaultActions: [{ type: "forward", targetGroupArn: group.arn }], tags },
                { parent: this },
            );
        }
        this.ipv4s = eips.map((e) => e.publicIp);
        this.dnsName = lb.dnsName;
        this.registerOutputs({ ipv4s: this.ipv4s, dnsName: this.dnsName });
    }
}
