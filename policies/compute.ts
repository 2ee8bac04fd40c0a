/**
 * Cloud servers themselves (HOST-4, HOST-5): the instance metadata service and disk encryption of EC2 instances,
 * launch templates and EBS volumes, with the account-wide defaults that make a missing setting safe. Hetzner Cloud
 * has neither a token-only metadata mode nor volume encryption, so its servers are not judged here.
 */
import { ResourceLike } from "./parse";
import { ChecklistPolicy, stackPolicy } from "./support";

const INSTANCE = "aws:ec2/instance:Instance";
const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";

/** What a metadata options block allows: `disabled`, `tokens` (IMDSv2 only) or `v1` (IMDSv1 answered too). */
export function metadataMode(options: Record<string, unknown> | undefined, accountRequiresTokens: boolean): "disabled" | "tokens" | "v1" {
    if (options?.httpEndpoint === "disabled") return "disabled";
    const tokens = options?.httpTokens;
    if (tokens === "required") return "tokens";
    // Unset, the account's default decides (InstanceMetadataDefaults); without one EC2 answers IMDSv1.
    return tokens === undefined && accountRequiresTokens ? "tokens" : "v1";
}

export const host4: ChecklistPolicy = stackPolicy({
    id: "HOST-4",
    slug: "imds-v2-only",
    description: "EC2 instances and launch templates answer the instance metadata service only with session tokens (IMDSv2, httpTokens required) and a hop limit of 1, or have it disabled; IMDSv1 hands the instance role's credentials to any request a vulnerable app can be made to send.",
    severity: "high",
    remediation: "Set metadataOptions { httpTokens: \"required\", httpPutResponseHopLimit: 1 } on every aws.ec2.Instance and LaunchTemplate (the Vps component does), or require tokens account-wide with aws.ec2.InstanceMetadataDefaults.",
    check: (resources, ctx) => {
        const accountDefault = resources.some((r) => r.type === "aws:ec2/instanceMetadataDefaults:InstanceMetadataDefaults" && r.props.httpTokens === "required");
        for (const r of resources.filter((x) => x.type === INSTANCE || x.type === LAUNCH_TEMPLATE)) {
            const options = r.props.metadataOptions as Record<string, unknown> | undefined;
            const mode = metadataMode(options, accountDefault);
            if (mode === "v1") ctx.report(`${r.name} answers IMDSv1 (httpTokens ${JSON.stringify(options?.httpTokens ?? "unset, EC2's default optional")}); set metadataOptions.httpTokens "required".`, r);
            const hops = Number(options?.httpPutResponseHopLimit ?? 1);
            if (mode !== "disabled" && hops > 1) ctx.report(`${r.name} lets metadata tokens travel ${hops} hops, so containers and forwarded requests reach the instance role; set httpPutResponseHopLimit 1.`, r);
        }
    },
});

/** Whether a block device setting leaves the disk unencrypted (`encrypted` unset means unencrypted unless the account encrypts by default). */
const unencrypted = (encrypted: unknown, byDefault: boolean) => !byDefault && encrypted !== true && encrypted !== "true";

export const host5: ChecklistPolicy = stackPolicy({
    id: "HOST-5",
    slug: "encrypted-disks",
    description: "Every EBS disk of a server is encrypted at rest: an instance's root and extra block devices, EBS volumes and launch template mappings, unless the account encrypts EBS by default.",
    severity: "high",
    remediation: "Set rootBlockDevice.encrypted true (and encrypted on every ebsBlockDevice, aws.ebs.Volume and launch template mapping), or turn on aws.ebs.EncryptionByDefault for the account and region.",
    check: (resources, ctx) => {
        const byDefault = resources.some((r) => r.type === "aws:ebs/encryptionByDefault:EncryptionByDefault" && r.props.enabled !== false);
        const report = (r: ResourceLike, what: string) => ctx.report(`${r.name}: ${what} is not encrypted; set encrypted: true (or turn on aws.ebs.EncryptionByDefault).`, r);
        for (const r of resources) {
            if (r.type === INSTANCE) {
                if (unencrypted((r.props.rootBlockDevice as Record<string, unknown> | undefined)?.encrypted, byDefault)) report(r, "the root volume");
                for (const d of (r.props.ebsBlockDevices ?? []) as Record<string, unknown>[]) if (unencrypted(d.encrypted, byDefault)) report(r, `the block device ${String(d.deviceName ?? "")}`.trim());
            }
            if (r.type === "aws:ebs/volume:Volume" && unencrypted(r.props.encrypted, byDefault)) report(r, "the volume");
            if (r.type === LAUNCH_TEMPLATE) {
                for (const m of (r.props.blockDeviceMappings ?? []) as Record<string, any>[]) if (m.ebs && unencrypted(m.ebs.encrypted, byDefault)) report(r, `the launch template's ${String(m.deviceName ?? "block device")}`);
            }
        }
    },
});

export const computePolicies = [host4, host5];
