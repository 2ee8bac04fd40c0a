/**
 * Memory of each server type offered by the config schema, for sizing PostgreSQL (seed 004's knobs).
 */

/** Hetzner Cloud: memory in GiB per type. */
const HCLOUD_GIB: Readonly<Record<string, number>> = {
    cx22: 4, cx32: 8, cx42: 16, cx52: 32,
    cx23: 4, cx33: 8, cx43: 16, cx53: 32,
    cpx11: 2, cpx21: 4, cpx31: 8, cpx41: 16, cpx51: 32,
    cpx12: 2, cpx22: 4, cpx32: 8, cpx42: 16, cpx52: 24, cpx62: 32,
    cax11: 4, cax21: 8, cax31: 16, cax41: 32,
    ccx13: 8, ccx23: 16, ccx33: 32, ccx43: 64, ccx53: 128, ccx63: 192,
};

const AWS_SIZE_VCPUS: Readonly<Record<string, number>> = { large: 2, xlarge: 4, "2xlarge": 8, "4xlarge": 16 };
const AWS_T_GIB: Readonly<Record<string, number>> = { micro: 1, small: 2, medium: 4, large: 8, xlarge: 16, "2xlarge": 32 };
/** GiB per vCPU: general purpose 4, compute 2, memory 8. */
const AWS_FAMILY_GIB_PER_VCPU: Readonly<Record<string, number>> = { m: 4, c: 2, r: 8 };

export function serverMemoryMiB(provider: "hcloud" | "aws", type: string): number {
    if (provider === "hcloud") {
        const gib = HCLOUD_GIB[type];
        if (gib === undefined) throw new Error(`unknown Hetzner server type ${JSON.stringify(type)}`);
        return gib * 1024;
    }
    const [family, size] = type.split(".");
    if (family?.startsWith("t") && AWS_T_GIB[size] !== undefined) return AWS_T_GIB[size] * 1024;
    const perVcpu = AWS_FAMILY_GIB_PER_VCPU[family?.[0] ?? ""];
    if (perVcpu === undefined || AWS_SIZE_VCPUS[size] === undefined) throw new Error(`unknown EC2 instance type ${JSON.stringify(type)}`);
    return perVcpu * AWS_SIZE_VCPUS[size] * 1024;
}
