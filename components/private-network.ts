/**
 * PrivateNetwork: the fleet's private network at Hetzner (issue 15), a Network and the one cloud subnet the app
 * servers, the database server and the load balancer join with the fixed addresses of lib/fleet.ts.
 */
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { FleetPlan, HCLOUD_NETWORK_ZONES } from "../lib/fleet";

export interface PrivateNetworkArgs {
    /** The addresses (lib/fleet.ts `fleetPlan`): the network's and the subnet's ranges. Required. */
    plan: FleetPlan;
    /** Hetzner location of the servers; the subnet goes into its network zone. Default: `"fsn1"`. */
    location?: string;
    /** Name of the network at Hetzner, e.g. `webapp-prod`. Required. */
    networkName: string;
    /** Turn on the network's delete protection and Pulumi `protect` (PROT-1). Default: false. */
    protect?: boolean;
    /** Labels put on the network. Default: none. */
    labels?: Record<string, string>;
}

export class PrivateNetwork extends pulumi.ComponentResource {
    /**
     * The network's id as the subnet reports it: servers and load balancers that take it attach only after the
     * subnet exists (Hetzner refuses a fixed address outside any subnet).
     */
    public readonly networkId: pulumi.Output<number>;

    constructor(name: string, args: PrivateNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webapp:network:PrivateNetwork", name, args, opts);
        const location = args.location ?? "fsn1";
        const zone = HCLOUD_NETWORK_ZONES[location];
        if (!zone) throw new Error(`PrivateNetwork ${name}: no network zone known for location ${location}`);
        const protect = args.protect ?? false;
        const network = new hcloud.Network(
            `${name}-network`,
            { name: args.networkName, ipRange: args.plan.networkCidr, deleteProtection: protect, labels: args.labels },
            { parent: this, protect },
        );
        const subnet = new hcloud.NetworkSubnet(`${name}-subnet`, { networkId: network.id.apply(Number), type: "cloud", networkZone: zone, ipRange: args.plan.subnetCidr }, { parent: this });
        this.networkId = subnet.networkId;
        this.registerOutputs({ networkId: this.networkId });
    }
}
