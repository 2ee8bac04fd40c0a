/**
 * LoadBalancer: the fleet's entry point at Hetzner (issue 15). It passes TCP on 80 and 443 through to the app
 * servers over the private network with the PROXY protocol header, so nginx on each server still terminates TLS
 * (the checklist's TLS and header controls judge nginx) and sees each client's address (PX-4). A target leaves the
 * rotation when nginx's health listener stops answering 2xx for the app's health path (LB-1).
 */
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { HEALTH_CHECK } from "../lib/fleet";

export interface LoadBalancerArgs {
    /** Name at Hetzner, e.g. `webapp-prod`. Required. */
    lbName: string;
    /** Hetzner load balancer type. Default: `"lb11"`. */
    loadBalancerType?: string;
    /** Hetzner location, the servers' own. Default: `"fsn1"`. */
    location?: string;
    /** The private network's id (components/private-network.ts: known once its subnet exists). Required. */
    networkId: pulumi.Input<number>;
    /** The load balancer's private address (lib/fleet.ts). Required. */
    ip: string;
    /** Server ids of the app servers, the targets, reached at their private addresses. Required, non-empty. */
    serverIds: pulumi.Input<number>[];
    /** The app's health path, checked on every target. Required. */
    healthPath: string;
    /** Port of nginx's health listener on the targets. Required. */
    healthPort: number;
    /** Host header of the health checks. Default: none. */
    healthDomain?: string;
    /** Delete protection and Pulumi `protect` (PROT-1). Default: false. */
    protect?: boolean;
    /** Labels. Default: none. */
    labels?: Record<string, string>;
}

/** The services: TCP passthrough with the PROXY protocol; 80 reaches nginx's redirect to HTTPS (TLS-1, TLS-7). */
export const LOAD_BALANCER_PORTS = [80, 443] as const;

export class LoadBalancer extends pulumi.ComponentResource {
    /** The public IPv4 address: the domain's A record points here. */
    public readonly ipv4: pulumi.Output<string>;
    /** The public IPv6 address: the domain's AAAA record. */
    public readonly ipv6: pulumi.Output<string>;

    constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
        if (args.serverIds.length === 0) throw new Error(`LoadBalancer ${name}: serverIds is empty`);
        super("webapp:network:LoadBalancer", name, args, opts);
        const location = args.location ?? "fsn1";
        const protect = args.protect ?? false;
        const lb = new hcloud.LoadBalancer(
            `${name}-lb`,
            { name: args.lbName, loadBalancerType: args.loadBalancerType ?? "lb11", location, algorithm: { type: "round_robin" }, deleteProtection: protect, labels: args.labels },
            { parent: this, protect },
        );
        const id = lb.id.apply(Number);
        const attached = new hcloud.LoadBalancerNetwork(
            `${name}-network`,
            { loadBalancerId: id, networkId: args.networkId, ip: args.ip, enablePublicInterface: true },
            { parent: this },
        );
        args.serverIds.forEach((serverId, i) => {
            new hcloud.LoadBalancerTarget(`${name}-target-${i}`, { type: "server", loadBalancerId: id, serverId, usePrivateIp: true }, { parent: this, dependsOn: [attached] });
        });
        for (const port of LOAD_BALANCER_PORTS) {
            new hcloud.LoadBalancerService(
                `${name}-service-${port}`,
                {
                    loadBalancerId: lb.id,
                    protocol: "tcp",
                    listenPort: port,
                    destinationPort: port,
                    proxyprotocol: true,
                    healthCheck: {
                        protocol: "http",
                        port: args.healthPort,
                        interval: HEALTH_CHECK.intervalSeconds,
                        timeout: HEALTH_CHECK.timeoutSeconds,
                        retries: HEALTH_CHECK.retries,
                        http: { path: args.healthPath, domain: args.healthDomain, statusCodes: ["2??"] },
                    },
                },
                { parent: this, dependsOn: [attached] },
            );
        }
        this.ipv4 = lb.ipv4;
        this.ipv6 = lb.ipv6;
        this.registerOutputs({ ipv4: this.ipv4, ipv6: this.ipv6 });
    }
}
