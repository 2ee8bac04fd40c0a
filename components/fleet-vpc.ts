/**
 * FleetVpc: an AWS fleet's network (issue 15), a VPC of its own with the subnets of lib/fleet.ts `awsFleetPlan` in
 * two availability zones: the app servers' (RDS's subnet group too) and the network load balancer's. Every subnet
 * routes to the internet gateway: the app servers keep their Elastic IPs for SSH from the admin networks, and the
 * load balancer is internet-facing. Nothing gets a public address by default (`mapPublicIpOnLaunch` false).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { FleetPlan } from "../lib/fleet";

export interface FleetVpcArgs {
    /** The addresses (lib/fleet.ts `awsFleetPlan`): the VPC's range and its zones' subnets. Required, with `zones`. */
    plan: FleetPlan;
    /** Prefix of the resources' Name tags, e.g. `webapp-prod`. Required. */
    namePrefix: string;
    /** Tags put on every resource. Default: none. */
    tags?: Record<string, string>;
}

export class FleetVpc extends pulumi.ComponentResource {
    public readonly vpcId: pulumi.Output<string>;
    /** The app servers' subnets, one per zone in the plan's order: app server i goes into `appSubnetIds[i % 2]`. */
    public readonly appSubnetIds: pulumi.Output<string>[];
    /** The load balancer's subnets, one per zone. */
    public readonly loadBalancerSubnetIds: pulumi.Output<string>[];

    constructor(name: string, args: FleetVpcArgs, opts?: pulumi.ComponentResourceOptions) {
        const zones = args.plan.zones;
        if (!zones || zones.length < 2) throw new Error(`FleetVpc ${name}: the plan has no AWS zones (use awsFleetPlan)`);
        super("webapp:network:FleetVpc", name, args, opts);
        const tag = (role: string) => ({ ...(args.tags ?? {}), Name: `${args.namePrefix}-${role}` });
        const vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: args.plan.networkCidr, enableDnsSupport: true, enableDnsHostnames: true, tags: tag("vpc") }, { parent: this });
        const gateway = new aws.ec2.InternetGateway(`${name}-gateway`, { vpcId: vpc.id, tags: tag("gateway") }, { parent: this });
        const routes = new aws.ec2.RouteTable(`${name}-routes`, { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: gateway.id }], tags: tag("routes") }, { parent: this });
        // Two zones the account can use without opting in, in the region's order.
        const available = aws.getAvailabilityZonesOutput({ state: "available", filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }] }, { parent: this });
        const subnet = (role: string, cidr: string, k: number) => {
            const s = new aws.ec2.Subnet(
                `${name}-${role}-${k}`,
                { vpcId: vpc.id, cidrBlock: cidr, availabilityZone: available.names.apply((n) => zoneName(n, k)), mapPublicIpOnLaunch: false, tags: tag(`${role}-${k}`) },
                { parent: this },
            );
            new aws.ec2.RouteTableAssociation(`${name}-${role}-${k}-routes`, { subnetId: s.id, routeTableId: routes.id }, { parent: this });
            return s.id;
        };
        this.vpcId = vpc.id;
        this.appSubnetIds = zones.map((z, k) => subnet("app", z.appSubnet, k));
        this.loadBalancerSubnetIds = zones.map((z, k) => subnet("lb", z.loadBalancerSubnet, k));
        this.registerOutputs({ vpcId: this.vpcId, appSubnetIds: this.appSubnetIds, loadBalancerSubnetIds: this.loadBalancerSubnetIds });
    }
}

/** The k-th availability zone of a region's list; a region with fewer than two cannot hold the fleet. */
export function zoneName(names: readonly string[], k: number): string {
    if (names.length < 2) throw new Error(`an AWS fleet spans two availability zones, but the region offers ${names.length ? names.join(", ") : "none"} without opting in; choose another webapp:awsRegion`);
    return names[k];
}
