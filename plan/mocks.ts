/**
 * Realistic provider answers for running the program without a cloud account: ids, addresses and ARNs in the
 * forms the real providers return (documentation address ranges, the AWS example account), and secret outputs
 * kept secret. Deterministic: the same program and config give the same plan.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";

const ACCOUNT = "123456789012";
const secretSig = pulumi.runtime.specialSigKey;
const secretValue = pulumi.runtime.specialSecretSig;

/** Wraps a value the way the engine marks a secret output. */
function secret(value: unknown): Record<string, unknown> {
    return { [secretSig]: secretValue, value };
}

function unwrap(value: unknown): unknown {
    return value && typeof value === "object" && (value as Record<string, unknown>)[secretSig] === secretValue ? (value as { value: unknown }).value : value;
}

/** Deterministic bytes from a label (HMAC-SHA256 in counter mode). */
function bytes(label: string, n: number): Buffer {
    const out: Buffer[] = [];
    for (let i = 0; Buffer.concat(out).length < n; i++) out.push(crypto.createHmac("sha256", "webapp-plan").update(`${label}/${i}`).digest());
    return Buffer.concat(out).subarray(0, n);
}

const hex = (label: string, n: number) => bytes(label, Math.ceil(n / 2)).toString("hex").slice(0, n);

/** A password that honours RandomPassword's inputs (length, classes, minimums, overrideSpecial). */
function password(label: string, inputs: Record<string, unknown>): string {
    const length = Number(inputs.length ?? 16);
    const classes: [string, number][] = [];
    if (inputs.upper !== false) classes.push(["ABCDEFGHIJKLMNOPQRSTUVWXYZ", Number(inputs.minUpper ?? 0)]);
    if (inputs.lower !== false) classes.push(["abcdefghijklmnopqrstuvwxyz", Number(inputs.minLower ?? 0)]);
    if (inputs.numeric !== false) classes.push(["0123456789", Number(inputs.minNumeric ?? 0)]);
    if (inputs.special !== false) classes.push([String(inputs.overrideSpecial ?? "!@#$%&*()-_=+[]{}<>:?"), Number(inputs.minSpecial ?? 0)]);
    const all = classes.map(([c]) => c).join("");
    const rnd = bytes(`${label}/${JSON.stringify(inputs.keepers ?? {})}`, length * 2);
    const chars: string[] = [];
    classes.forEach(([set, min]) => {
        for (let i = 0; i < min; i++) chars.push(set[rnd[chars.length] % set.length]);
    });
    while (chars.length < length) chars.push(all[rnd[chars.length] % all.length]);
    // Fisher-Yates with the second half of the bytes, so the minimum characters are not all at the front.
    for (let i = chars.length - 1; i > 0; i--) {
        const j = rnd[length + i] % (i + 1);
        [chars[i], chars[j]] = [chars[j], chars[i]];
    }
    return chars.join("");
}

/** OpenSSH MD5 fingerprint, as Hetzner reports it for an SSH key. */
function md5Fingerprint(publicKey: string): string {
    const blob = Buffer.from(publicKey.trim().split(/\s+/)[1] ?? "", "base64");
    return (crypto.createHash("md5").update(blob).digest("hex").match(/../g) ?? []).join(":");
}

/** An OpenSSH Ed25519 public key line in the wire format ssh writes, its 32 key bytes derived from `label`. */
function ed25519PublicKey(label: string): string {
    const field = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
    return `ssh-ed25519 ${Buffer.concat([field(Buffer.from("ssh-ed25519")), field(bytes(label, 32))]).toString("base64")}`;
}

export type MockState = { id: string; state: Record<string, unknown> };

/**
 * Creates the mock answers for one program run. `region` is the AWS region the program configures.
 * `firstDeploy`: answer as the providers do in the preview of a first deploy, where nothing exists yet: a new
 * resource's id and every output that is not one of its inputs (addresses, ARNs, generated secrets) are unknown.
 * Data sources (invokes) still answer, as they do in a preview.
 */
export function createMocks(region: string, options: { firstDeploy?: boolean } = {}): pulumi.runtime.Mocks & { ipOf: Map<string, string> } {
    let numericId = 4_200_000;
    let hostOctet = 10;
    const ipOf = new Map<string, string>();
    const nextIp = () => `192.0.2.${hostOctet++}`;

    const newResource = (args: pulumi.runtime.MockResourceArgs): MockState => {
        const inputs = args.inputs as Record<string, unknown>;
        const label = `${args.type}/${args.name}`;
        const arn = (service: string, resource: string, regional = true) => `arn:aws:${service}:${regional ? region : ""}:${ACCOUNT}:${resource}`;
        switch (args.type) {
            case "random:index/randomPassword:RandomPassword": {
                const result = password(label, inputs);
                return { id: "none", state: { ...inputs, result: secret(result), bcryptHash: secret(`$2a$10$${hex(label + "/bcrypt", 53)}`) } };
            }
            case "hcloud:index/sshKey:SshKey":
                return { id: String(numericId++), state: { ...inputs, fingerprint: md5Fingerprint(String(inputs.publicKey)) } };
            case "hcloud:index/firewall:Firewall":
                return { id: String(numericId++), state: { ...inputs, applyTos: [] } };
            case "hcloud:index/primaryIp:PrimaryIp": {
                const id = String(numericId++);
                const ip = nextIp();
                ipOf.set(id, ip);
                return { id, state: { ...inputs, ipAddress: ip, ipNetwork: null, datacenter: `${inputs.location}-dc14`, assigneeId: 0 } };
            }
            case "hcloud:index/server:Server": {
                const nets = (inputs.publicNets as { ipv4?: number }[] | undefined) ?? [];
                const ipv4 = nets[0]?.ipv4 !== undefined ? ipOf.get(String(nets[0].ipv4)) ?? nextIp() : nextIp();
                const id = String(numericId++);
                return {
                    id,
                    state: {
                        ...inputs,
                        ipv4Address: ipv4,
                        ipv6Address: `2001:db8:${(Number(id) % 65535).toString(16)}::1`,
                        ipv6Network: `2001:db8:${(Number(id) % 65535).toString(16)}::/64`,
                        datacenter: `${inputs.location}-dc14`,
                        status: "running",
                        backupWindow: inputs.backups ? "22-02" : "",
                        primaryDiskSize: 80,
                    },
                };
            }
            case "hcloud:index/volume:Volume": {
                const id = String(numericId++);
                return { id, state: { ...inputs, linuxDevice: `/dev/disk/by-id/scsi-0HC_Volume_${id}` } };
            }
            case "aws:ec2/keyPair:KeyPair":
                return { id: String(inputs.keyName), state: { ...inputs, arn: arn("ec2", `key-pair/${inputs.keyName}`), keyPairId: `key-${hex(label, 17)}`, fingerprint: md5Fingerprint(String(inputs.publicKey)) } };
            case "aws:ec2/securityGroup:SecurityGroup": {
                const id = `sg-${hex(label, 17)}`;
                return { id, state: { ...inputs, arn: arn("ec2", `security-group/${id}`), vpcId: inputs.vpcId ?? `vpc-${hex("vpc", 17)}`, ownerId: ACCOUNT } };
            }
            case "aws:ec2/vpc:Vpc":
            case "aws:ec2/subnet:Subnet":
            case "aws:ec2/internetGateway:InternetGateway":
            case "aws:ec2/routeTable:RouteTable": {
                const kind = args.type.split(":")[2].replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).slice(1);
                const id = `${{ vpc: "vpc", subnet: "subnet", "internet-gateway": "igw", "route-table": "rtb" }[kind]}-${hex(label, 17)}`;
                return { id, state: { ...inputs, arn: arn("ec2", `${kind}/${id}`), ownerId: ACCOUNT } };
            }
            case "aws:lb/loadBalancer:LoadBalancer": {
                const lbArn = arn("elasticloadbalancing", `loadbalancer/net/${inputs.name}/${hex(label, 16)}`);
                return { id: lbArn, state: { ...inputs, arn: lbArn, arnSuffix: lbArn.split(":loadbalancer/")[1], dnsName: `${inputs.name}-${hex(label, 16)}.elb.${region}.amazonaws.com`, zoneId: "Z3F0SRJ5LGBH90" } };
            }
            case "aws:lb/targetGroup:TargetGroup": {
                const tgArn = arn("elasticloadbalancing", `targetgroup/${inputs.name}/${hex(label, 16)}`);
                return { id: tgArn, state: { ...inputs, arn: tgArn, arnSuffix: tgArn.split(":")[5] } };
            }
            case "aws:lb/listener:Listener": {
                const listenerArn = `${String(inputs.loadBalancerArn).replace(":loadbalancer/", ":listener/")}/${hex(label, 16)}`;
                return { id: listenerArn, state: { ...inputs, arn: listenerArn } };
            }
            case "aws:ec2/instance:Instance": {
                const id = `i-${hex(label, 17)}`;
                return {
                    id,
                    state: { ...inputs, arn: arn("ec2", `instance/${id}`), availabilityZone: `${region}a`, privateIp: inputs.privateIp ?? `172.31.${hostOctet}.${hostOctet * 3}`, publicIp: nextIp(), instanceState: "running" },
                };
            }
            case "aws:ec2/eip:Eip": {
                const id = `eipalloc-${hex(label, 17)}`;
                return { id, state: { ...inputs, allocationId: id, publicIp: nextIp(), arn: arn("ec2", `elastic-ip/${id}`) } };
            }
            case "aws:ebs/volume:Volume": {
                const id = `vol-${hex(label, 17)}`;
                return { id, state: { ...inputs, arn: arn("ec2", `volume/${id}`) } };
            }
            case "aws:iam/role:Role":
                return { id: String(inputs.name), state: { ...inputs, arn: arn("iam", `role/${inputs.name}`, false), uniqueId: `AROA${hex(label, 17).toUpperCase()}` } };
            case "aws:iam/instanceProfile:InstanceProfile":
                return { id: String(inputs.name), state: { ...inputs, arn: arn("iam", `instance-profile/${inputs.name}`, false) } };
            case "aws:iam/user:User":
                return { id: String(inputs.name), state: { ...inputs, arn: arn("iam", `user${inputs.path ?? "/"}${inputs.name}`, false), uniqueId: `AIDA${hex(label, 17).toUpperCase()}` } };
            case "aws:iam/accessKey:AccessKey":
                return { id: `AKIA${hex(label, 16).toUpperCase()}`, state: { ...inputs, status: "Active", secret: secret(bytes(label, 30).toString("base64")) } };
            case "aws:iam/policy:Policy": {
                const policyArn = arn("iam", `policy/${inputs.name}`, false);
                return { id: policyArn, state: { ...inputs, arn: policyArn, policyId: `ANPA${hex(label, 17).toUpperCase()}` } };
            }
            case "aws:secretsmanager/secret:Secret": {
                const secretArn = arn("secretsmanager", `secret:${inputs.name}-${hex(label, 6)}`);
                return { id: secretArn, state: { ...inputs, arn: secretArn } };
            }
            case "aws:secretsmanager/secretVersion:SecretVersion": {
                const versionId = [8, 4, 4, 4, 12].map((n, i) => hex(`${label}/${i}`, n)).join("-");
                return { id: `${inputs.secretId}|${versionId}`, state: { ...inputs, versionId, versionStages: ["AWSCURRENT"], secretString: secret(unwrap(inputs.secretString)) } };
            }
            case "aws:s3/bucket:Bucket": {
                const bucket = String(inputs.bucket ?? `${args.name}-${hex(label, 8)}`);
                return { id: bucket, state: { ...inputs, bucket, arn: `arn:aws:s3:::${bucket}`, region, bucketDomainName: `${bucket}.s3.amazonaws.com`, bucketRegionalDomainName: `${bucket}.s3.${region}.amazonaws.com` } };
            }
            case "aws:rds/instance:Instance": {
                const identifier = String(inputs.identifier ?? args.name);
                const address = `${identifier}.c${hex(label, 11)}.${region}.rds.amazonaws.com`;
                return { id: `db-${hex(label, 26).toUpperCase()}`, state: { ...inputs, address, endpoint: `${address}:5432`, port: 5432, arn: arn("rds", `db:${identifier}`), resourceId: `db-${hex(label, 26).toUpperCase()}` } };
            }
            case "aws:rds/subnetGroup:SubnetGroup":
            case "aws:rds/parameterGroup:ParameterGroup": {
                const name = String(inputs.name ?? `${args.name}-${hex(label, 7)}`);
                return { id: name, state: { ...inputs, name, arn: arn("rds", `${args.type.includes("subnet") ? "subgrp" : "pg"}:${name}`) } };
            }
            case "command:remote:Command": {
                // What a step prints that other resources read: the fleet's push key and the host keys it pins
                // (components/shared-certificate.ts). Other output is log lines nothing reads.
                const create = String(inputs.create ?? "");
                const lines = ["share-key", "host-key"].filter((k) => create.includes(`echo "${k}: `)).map((k) => `${k}: ${ed25519PublicKey(`${label}/${k}`)}`);
                return { id: `${args.name}-${hex(label, 8)}`, state: { ...inputs, stdout: lines.join("\n") + (lines.length ? "\n" : ""), stderr: "" } };
            }
            default:
                return { id: args.custom === false ? "" : `${args.name}-${hex(label, 8)}`, state: { ...inputs } };
        }
    };

    const preview = (args: pulumi.runtime.MockResourceArgs): MockState => {
        const known = newResource(args);
        if (!options.firstDeploy || args.custom === false) return known;
        const inputs = args.inputs as Record<string, unknown>;
        const state = Object.fromEntries(Object.entries(known.state).map(([k, v]) => [k, k in inputs ? v : pulumi.runtime.unknownValue]));
        return { id: "", state };
    };

    const call = (args: pulumi.runtime.MockCallArgs): Record<string, unknown> => {
        switch (args.token) {
            case "aws:ec2/getAmi:getAmi": {
                const name = String((args.inputs.filters as { name: string; values: string[] }[] | undefined)?.find((f) => f.name === "name")?.values[0] ?? "debian-12-amd64-*");
                const arch = name.includes("arm64") ? "arm64" : "x86_64";
                return { id: `ami-${hex(name, 17)}`, architecture: arch, name: name.replace("*", "20261101-1950"), ownerId: "136693071363", rootDeviceType: "ebs" };
            }
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return { id: ACCOUNT, accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/deployer`, userId: "AIDAEXAMPLEDEPLOYER01" };
            case "aws:ec2/getSubnets:getSubnets":
                return { id: region, ids: ["a", "b", "c"].map((az) => `subnet-${hex(`${region}${az}`, 17)}`), filters: args.inputs.filters };
            case "aws:index/getAvailabilityZones:getAvailabilityZones":
                return { ...args.inputs, id: region, names: ["a", "b", "c"].map((az) => `${region}${az}`), zoneIds: [1, 2, 3].map((n) => `euc1-az${n}`), groupNames: [region] };
            default:
                return args.inputs;
        }
    };

    return { newResource: preview, call, ipOf };
}
