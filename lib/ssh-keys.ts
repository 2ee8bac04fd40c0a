/**
 * OpenSSH public key parsing (the `authorized_keys` line format, RFC 4253 §6.6 wire encoding).
 *
 * Used by config validation so that a truncated or pasted-wrong key fails before a server is created with no
 * way in.
 */

/** Key types accepted for the admin user. DSA and RSA below 3072 bits are refused. */
export const ACCEPTED_KEY_TYPES = [
    "ssh-ed25519",
    "sk-ssh-ed25519@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-rsa",
] as const;

export const MIN_RSA_BITS = 3072;

export type ParsedPublicKey = { type: string; bits?: number; comment: string; line: string };

function readString(buf: Buffer, offset: number): { value: Buffer; next: number } | undefined {
    if (offset + 4 > buf.length) return undefined;
    const len = buf.readUInt32BE(offset);
    const end = offset + 4 + len;
    if (end > buf.length) return undefined;
    return { value: buf.subarray(offset + 4, end), next: end };
}

/** Bit length of an SSH mpint (big-endian, may carry a leading zero byte). */
function mpintBits(value: Buffer): number {
    let i = 0;
    while (i < value.length && value[i] === 0) i++;
    if (i === value.length) return 0;
    return (value.length - i - 1) * 8 + (32 - Math.clz32(value[i]));
}

export function parsePublicKey(line: string): ParsedPublicKey | { error: string } {
    const parts = line.trim().split(/\s+/);
    if (parts.length < 2) {
        return { error: "is not an OpenSSH public key line (expected `<type> <base64> [comment]`)" };
    }
    const [type, b64, ...comment] = parts;
    if (!(ACCEPTED_KEY_TYPES as readonly string[]).includes(type)) {
        return { error: `has key type "${type}", which is not accepted (use ssh-ed25519)` };
    }
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
        return { error: "has a key body that is not base64" };
    }
    const blob = Buffer.from(b64, "base64");
    const inner = readString(blob, 0);
    if (!inner || inner.value.toString("latin1") !== type) {
        return { error: `has a key body that does not encode a ${type} key (truncated or mismatched paste?)` };
    }
    let bits: number | undefined;
    if (type === "ssh-rsa") {
        const e = readString(blob, inner.next);
        const n = e && readString(blob, e.next);
        if (!n) return { error: "has a truncated RSA key body" };
        bits = mpintBits(n.value);
        if (bits < MIN_RSA_BITS) {
            return { error: `is an RSA key of ${bits} bits; at least ${MIN_RSA_BITS} are required (or use ssh-ed25519)` };
        }
    } else if (type === "ssh-ed25519") {
        const key = readString(blob, inner.next);
        if (!key || key.value.length !== 32) return { error: "has an ed25519 key body of the wrong length" };
        bits = 256;
    }
    return { type, bits, comment: comment.join(" "), line: `${type} ${b64}${comment.length ? " " + comment.join(" ") : ""}` };
}
