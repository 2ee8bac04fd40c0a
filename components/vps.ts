/**
 * Vps: the app servers and what guards them at the provider: SSH key, cloud firewall (NET-1, NET-3), fixed
 * public IPs, optional data volumes, and the cloud-init user data that creates the admin user and hardens SSH
 * before the first login. One component runs `count` servers of the same kind.
 */
import * as aws from "@pulumi/aws";
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { FirewallRole, inboundRules, privateRules, splitByFamily } from "../lib/net";
import { renderUserData } from "../lib/render/cloud-init";

/** How the remote steps reach one server (the shape of `command.remote.Command`'s `connection`). */
export type SshConnection = {
    host: string;
    port: number;
    user: string;
    privateKey?: string;
    dialErrorLimit: number;
    perDialTimeout: number;
};

/** One server as the rest of the graph sees it. */
export type ServerEndpoint = {
    /** Provider-side server name, also the host name. */
    name: string;
    /** Fixed public IPv4 address (hcloud Primary IP or AWS Elastic IP). */
    ipv4: string;
};

export interface VpsArgs {
    /**
     * Where the servers run: `"hcloud"`, `"aws"`, or `"existing"` (servers you already have: nothing is created, the
     * remote steps reach `existingHosts`, where the admin user must already log in with its key). Default: `"hcloud"`.
     */
    provider?: "hcloud" | "aws" | "existing";
    /** Addresses of the existing servers (provider existing), one per server. Default: none. */
    existingHosts?: string[];
    /** Number of identical servers. Default: 1. */
    count?: number;
    /** Prefix of provider-side names and host names, e.g. `webapp-prod`. Required. */
    namePrefix: string;
    /** Non-root admin user with sudo that cloud-init creates (HOST-3). Required. */
    adminUser: string;
    /** authorized_keys lines of the admin user; the first also becomes the provider SSH key. Required, non-empty. */
    adminSshPublicKeys: string[];
    /** Networks allowed to reach SSH (NET-1). Required, non-empty. */
    adminCidrs: string[];
    /** SSH port. Default: 22. */
    sshPort?: number;
    /** Private key the remote steps use (a secret); undefined = the SSH agent at SSH_AUTH_SOCK. Default: undefined. */
    sshPrivateKey?: pulumi.Input<string>;
    /** Hetzner server type, for provider hcloud. Default: `"cx23"`. */
    hcloudServerType?: string;
    /** Hetzner location, for provider hcloud. Default: `"fsn1"`. */
    hcloudLocation?: string;
    /** EC2 instance type, for provider aws. Default: `"t3.small"`. */
    awsInstanceType?: string;
    /** IAM instance profile name for the EC2 instances (provider aws). Default: none. */
    awsInstanceProfile?: pulumi.Input<string>;
    /** Size of an extra data volume per server in GB; 0 = none. Default: 0. */
    volumeSizeGb?: number;
    /**
     * Protect stateful resources (PROT-1): Pulumi `protect`, provider delete/rebuild/termination protection, and
     * user data changes ignored after creation so no server is replaced silently (PROT-3). Default: false.
     */
    protect?: boolean;
    /** Provider-side backups of the servers (hcloud `backups`, PROT-2). Default: false. */
    providerBackups?: boolean;
    /** Labels / tags put on every resource. Default: none. */
    labels?: Record<string, string>;
    /**
     * What the servers are in the topology (lib/net.ts): `standalone` app servers take web traffic themselves; app
     * servers behind a load balancer and a database server open only SSH at the cloud firewall. Default: standalone.
     */
    role?: FirewallRole;
    /**
     * The private network the servers join, with one fixed address per server (`ips`). Provider hcloud: the network's
     * `networkId` (from components/private-network.ts, known once the subnet exists). Provider aws: the fleet VPC's
     * `vpcId` and its app subnets `subnetIds` (components/fleet-vpc.ts), server i in `subnetIds[i % length]`; the
     * security group then also admits what ufw admits on the private network (lib/net.ts `privateRules`), since AWS
     * filters private traffic too. Default: none (hcloud: no private network; aws: the default VPC).
     */
    privateNetwork?: { ips: readonly string[]; networkId?: pulumi.Input<number>; vpcId?: pulumi.Input<string>; subnetIds?: pulumi.Input<string>[] };
}

const DEBIAN_12_HCLOUD_IMAGE = "debian-12";
/** The Debian cloud team's AWS account, owner of the official Debian AMIs. */
const DEBIAN_AMI_OWNER = "136693071363";
const ARM_FAMILIES = /^(t4g|m7g|c7g|r7g)\./;

export class Vps extends pulumi.ComponentResource {
    /** Every server, in index order. */
    public readonly servers: pulumi.Output<ServerEndpoint[]>;
    /** SSH connection per server, in index order, for `command.remote` resources. Secret if a private key is set. */
    public readonly connections: pulumi.Output<SshConnection>[];
    /** Public IPv4 of the first server. */
    public readonly publicIp: pulumi.Output<string>;
    /** The admin user the connections log in as. */
    public readonly adminUser: string;
    /** The cloud firewall / security group id that guards the servers. */
    public readonly firewallId: pulumi.Output<string>;
    /** Provider ids of the hcloud servers, in index order (load balancer targets); empty for other providers. */
    public readonly serverIds: pulumi.Output<number>[] = [];
    /** Instance ids of the EC2 servers, in index order (load balancer targets); empty for other providers. */
    public readonly instanceIds: pulumi.Output<string>[] = [];

    constructor(name: string, args: VpsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webapp:compute:Vps", name, args, opts);
        const count = args.count ?? 1;
        const sshPort = args.sshPort ?? 22;
        const protect = args.protect ?? false;
        const role = args.role ?? { kind: "standalone" };
        const labels = { ...(args.labels ?? {}), role: role.kind === "database" ? "database" : "app" };
        const rules = inboundRules({ sshPort, adminCidrs: args.adminCidrs, role });
        const firewallName = role.kind === "database" ? args.namePrefix : `${args.namePrefix}-app`;
        if (args.privateNetwork && args.privateNetwork.ips.length !== count) throw new Error(`Vps ${name}: ${count} servers need ${count} private addresses, got ${args.privateNetwork.ips.length}`);
        const provider = args.provider ?? "hcloud";
        if (args.privateNetwork && provider === "existing") throw new Error(`Vps ${name}: existing hosts are on their private network already`);
        if (args.privateNetwork && provider === "hcloud" && args.privateNetwork.networkId === undefined) throw new Error(`Vps ${name}: a private network at Hetzner needs its networkId`);
        if (args.privateNetwork && provider === "aws" && (!args.privateNetwork.vpcId || !args.privateNetwork.subnetIds?.length)) throw new Error(`Vps ${name}: a private network at AWS needs its vpcId and subnetIds`);
        const hostnames = Array.from({ length: count }, (_, i) => `${args.namePrefix}-${i}`);
        const userData = hostnames.map((hostname) =>
            renderUserData({ hostname, adminUser: args.adminUser, adminSshPublicKeys: args.adminSshPublicKeys, sshPort }),
        );
        // Host setup after creation goes through remote steps; the first user data is never re-applied (PROT-3).
        // The provider SSH key is create-only at both providers: a key change must not replace a server either
        // (admin keys are managed on the host).
        const createOnly = (keyProperty: string) => (protect ? ["userData", keyProperty] : [keyProperty]);

        let ips: pulumi.Output<string>[];
        if (args.provider === "existing") {
            const hosts = args.existingHosts ?? [];
            if (hosts.length !== count) throw new Error(`Vps ${name}: provider existing needs ${count} existingHosts, got ${hosts.length}`);
            // Nothing to create: the servers, their firewall and their admin user are already there.
            this.firewallId = pulumi.output("");
            ips = hosts.map((h) => pulumi.output(h));
        } else if ((args.provider ?? "hcloud") === "hcloud") {
            const location = args.hcloudLocation ?? "fsn1";
            // Without an SSH key Hetzner mails a root password; the key also keeps root's console access key-only.
            const sshKey = new hcloud.SshKey(`${name}-ssh-key`, { name: `${args.namePrefix}-admin`, publicKey: args.adminSshPublicKeys[0], labels }, { parent: this });
            const firewall = new hcloud.Firewall(
                `${name}-firewall`,
                {
                    name: firewallName,
                    labels,
                    rules: rules.map((r) => ({ direction: "in", protocol: r.protocol, port: String(r.port), sourceIps: [...r.sources], description: r.description })),
                },
                { parent: this },
            );
            this.firewallId = firewall.id;
            ips = hostnames.map((hostname, i) => {
                const ip = new hcloud.PrimaryIp(
                    `${name}-ipv4-${i}`,
                    { name: `${hostname}-ipv4`, type: "ipv4", assigneeType: "server", autoDelete: false, location, deleteProtection: protect, labels },
                    { parent: this, protect },
                );
                const server = new hcloud.Server(
                    `${name}-server-${i}`,
                    {
                        name: hostname,
                        image: DEBIAN_12_HCLOUD_IMAGE,
                        serverType: args.hcloudServerType ?? "cx23",
                        location,
                        sshKeys: [sshKey.id],
                        firewallIds: [firewall.id.apply(Number)],
                        publicNets: [{ ipv4Enabled: true, ipv4: ip.id.apply(Number), ipv6Enabled: true }],
                        userData: userData[i],
                        networks: args.privateNetwork && [{ networkId: args.privateNetwork.networkId!, ip: args.privateNetwork.ips[i] }],
                        backups: args.providerBackups ?? false,
                        deleteProtection: protect,
                        rebuildProtection: protect,
                        shutdownBeforeDeletion: true,
                        labels,
                    },
                    { parent: this, protect, ignoreChanges: createOnly("sshKeys") },
                );
                this.serverIds.push(server.id.apply(Number));
                if (args.volumeSizeGb) {
                    const volume = new hcloud.Volume(
                        `${name}-volume-${i}`,
                        { name: `${hostname}-data`, size: args.volumeSizeGb, location, format: "ext4", deleteProtection: protect, labels },
                        { parent: this, protect },
                    );
                    new hcloud.VolumeAttachment(
                        `${name}-volume-attachment-${i}`,
                        { volumeId: volume.id.apply(Number), serverId: server.id.apply(Number), automount: true },
                        { parent: this },
                    );
                }
                return ip.ipAddress;
            });
        } else {
            const instanceType = args.awsInstanceType ?? "t3.small";
            const keyPair = new aws.ec2.KeyPair(`${name}-key-pair`, { keyName: `${args.namePrefix}-admin`, publicKey: args.adminSshPublicKeys[0], tags: labels }, { parent: this });
            const fleet = args.privateNetwork;
            const securityGroup = new aws.ec2.SecurityGroup(
                `${name}-security-group`,
                {
                    name: `${args.namePrefix}-app`,
                    vpcId: fleet?.vpcId,
                    description: role.kind === "standalone"
                        ? "App servers: HTTP and HTTPS from anywhere, SSH from the admin networks only"
                        : "App servers behind the load balancer: web and health checks from its subnets, SSH from the admin networks",
                    ingress: [...rules, ...(fleet ? privateRules(role, sshPort) : [])].map((r) => {
                        const { ipv4, ipv6 } = splitByFamily(r.sources);
                        return { description: r.description, protocol: r.protocol, fromPort: r.port, toPort: r.port, cidrBlocks: ipv4, ipv6CidrBlocks: ipv6 };
                    }),
                    egress: [{ description: "All outbound", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] }],
                    tags: labels,
                },
                { parent: this },
            );
            this.firewallId = securityGroup.id;
            const ami = aws.ec2.getAmiOutput(
                {
                    owners: [DEBIAN_AMI_OWNER],
                    mostRecent: true,
                    filters: [
                        { name: "name", values: [ARM_FAMILIES.test(instanceType) ? "debian-12-arm64-*" : "debian-12-amd64-*"] },
                        { name: "virtualization-type", values: ["hvm"] },
                    ],
                },
                { parent: this },
            );
            ips = hostnames.map((hostname, i) => {
                const instance = new aws.ec2.Instance(
                    `${name}-server-${i}`,
                    {
                        ami: ami.id,
                        instanceType,
                        keyName: keyPair.keyName,
                        vpcSecurityGroupIds: [securityGroup.id],
                        subnetId: fleet?.subnetIds?.[i % fleet.subnetIds.length],
                        privateIp: fleet?.ips[i],
                        iamInstanceProfile: args.awsInstanceProfile,
                        userData: userData[i],
                        metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
                        rootBlockDevice: { encrypted: true, volumeType: "gp3", volumeSize: 20, deleteOnTermination: true },
                        disableApiTermination: protect,
                        monitoring: true,
                        tags: { ...labels, Name: hostname },
                    },
                    { parent: this, protect, ignoreChanges: [...createOnly("keyName"), "ami"] },
                );
                this.instanceIds.push(instance.id);
                const eip = new aws.ec2.Eip(`${name}-ipv4-${i}`, { domain: "vpc", instance: instance.id, tags: { ...labels, Name: `${hostname}-ipv4` } }, { parent: this, protect });
                if (args.volumeSizeGb) {
                    const volume = new aws.ebs.Volume(
                        `${name}-volume-${i}`,
                        { availabilityZone: instance.availabilityZone, size: args.volumeSizeGb, type: "gp3", encrypted: true, tags: { ...labels, Name: `${hostname}-data` } },
                        { parent: this, protect },
                    );
                    new aws.ec2.VolumeAttachment(`${name}-volume-attachment-${i}`, { deviceName: "/dev/sdf", volumeId: volume.id, instanceId: instance.id }, { parent: this });
                }
                return eip.publicIp;
            });
        }

        this.adminUser = args.adminUser;
        this.servers = pulumi.all(ips).apply((addrs) => addrs.map((ipv4, i) => ({ name: hostnames[i], ipv4 })));
        this.publicIp = ips[0];
        this.connections = ips.map((host) =>
            pulumi.output({
                host,
                port: sshPort,
                user: args.adminUser,
                privateKey: args.sshPrivateKey,
                // A new server needs a minute before sshd answers; keep dialling instead of failing the update.
                dialErrorLimit: 30,
                perDialTimeout: 15,
            }),
        );
        this.registerOutputs({ servers: this.servers, publicIp: this.publicIp, firewallId: this.firewallId, adminUser: this.adminUser });
    }
}
