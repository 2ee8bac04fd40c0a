/**
 * Secret values as a recorded run holds them: the runtime's marker object
 * `{ [specialSigKey]: specialSecretSig, value }`, nested anywhere in inputs and outputs. Pure.
 */
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";

export function isSecret(v: unknown): v is { value: unknown } {
    return !!v && typeof v === "object" && (v as Record<string, unknown>)[specialSigKey] === specialSecretSig;
}

/** The value with secret markers removed at any depth, as the analyzer deserialises properties for policies. */
export function unwrapSecrets(v: unknown): any {
    if (isSecret(v)) return unwrapSecrets(v.value);
    if (Array.isArray(v)) return v.map(unwrapSecrets);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
    return v;
}

/** The value with every secret replaced by "[secret]", for reports. */
export function redactSecrets(v: unknown): unknown {
    if (isSecret(v)) return "[secret]";
    if (Array.isArray(v)) return v.map(redactSecrets);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactSecrets(x)]));
    return v;
}

/** Every string inside a value, split into those under a secret marker and those in plain sight. */
export function strings(value: unknown, underSecret = false, out: { secret: string[]; plain: string[] } = { secret: [], plain: [] }) {
    if (isSecret(value)) return strings(value.value, true, out);
    if (typeof value === "string") (underSecret ? out.secret : out.plain).push(value);
    else if (Array.isArray(value)) value.forEach((v) => strings(v, underSecret, out));
    else if (value && typeof value === "object") Object.values(value).forEach((v) => strings(v, underSecret, out));
    return out;
}
