/**
 * The sshd drop-in that enforces SSH-1..3. Debian 12's `/etc/ssh/sshd_config` includes
 * `/etc/ssh/sshd_config.d/*.conf` before its own settings and sshd keeps the first value it reads, so a drop-in
 * named before cloud-init's `50-cloud-init.conf` wins over everything else.
 */
import { SSH_LOGIN_GRACE_SECONDS, SSH_MAX_AUTH_TRIES } from "../controls";
export const SSHD_DROPIN_PATH = "/etc/ssh/sshd_config.d/10-hardening.conf";

export type SshdOptions = {
    /** The only user allowed to log in (SSH-3). */
    adminUser: string;
    /** Listening port; default 22. */
    port?: number;
};

/**
 * Key exchange and ciphers: the modern OpenSSH 9.2 (Debian 12) set that the Go SSH client of the Pulumi command
 * provider also speaks. AEAD ciphers only, so no MAC list is needed for them; the MACs line covers clients
 * that negotiate nothing else.
 */
const KEX = ["sntrup761x25519-sha512@openssh.com", "curve25519-sha256", "curve25519-sha256@libssh.org"];
const CIPHERS = ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "aes128-gcm@openssh.com"];
const MACS = ["hmac-sha2-512-etm@openssh.com", "hmac-sha2-256-etm@openssh.com"];

/**
 * The host keys sshd offers (SSH-5): Ed25519, and RSA for older clients (Debian generates it with 3072 bits).
 * The ECDSA key Debian also generates stays on disk but is not offered: its NIST P-256 curve is what SSH auditors
 * flag. HostKey is cumulative and Debian's sshd_config names none, so these are the only ones.
 */
export const HOST_KEYS = ["/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_rsa_key"];

/** Sessions per connection (SSH-6): a remote step opens one; a few spare for an operator's multiplexed shell. */
export const MAX_SESSIONS = 4;

/** The smallest Diffie-Hellman group size kept in /etc/ssh/moduli (SSH-5). */
export const MIN_MODULI_BITS = 3072;

/**
 * Bash lines that make the host keys and moduli match SSH-5: a missing Ed25519 key is generated, an RSA key under
 * 3072 bits is replaced, and moduli under 3072 bits are dropped (awk's $5 is the size minus one). Idempotent.
 */
export const SSH_KEY_COMMANDS = [
    "[ -s /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key",
    `if [ ! -s /etc/ssh/ssh_host_rsa_key ] || [ "$(ssh-keygen -l -f /etc/ssh/ssh_host_rsa_key | cut -d' ' -f1)" -lt ${MIN_MODULI_BITS} ]; then rm -f /etc/ssh/ssh_host_rsa_key /etc/ssh/ssh_host_rsa_key.pub; ssh-keygen -q -t rsa -b ${MIN_MODULI_BITS} -N '' -f /etc/ssh/ssh_host_rsa_key; fi`,
    `if awk '$5 < ${MIN_MODULI_BITS - 1} && $1 !~ /^#/ { found = 1 } END { exit !found }' /etc/ssh/moduli; then awk '$1 ~ /^#/ || $5 >= ${MIN_MODULI_BITS - 1}' /etc/ssh/moduli >/etc/ssh/moduli.new && mv /etc/ssh/moduli.new /etc/ssh/moduli; fi`,
];

/** Renders the drop-in. Values chosen against the dev-sec ssh-baseline. */
export function renderSshdConfig(opts: SshdOptions): string {
    const port = opts.port ?? 22;
    return [
        "# Managed by Pulumi: SSH hardening (checklist SSH-1..3, SSH-5, SSH-6). Local edits are overwritten.",
        `Port ${port}`,
        ...HOST_KEYS.map((k) => `HostKey ${k}`),
        "PermitRootLogin no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitEmptyPasswords no",
        "PubkeyAuthentication yes",
        "AuthenticationMethods publickey",
        `AllowUsers ${opts.adminUser}`,
        `MaxAuthTries ${SSH_MAX_AUTH_TRIES}`,
        `LoginGraceTime ${SSH_LOGIN_GRACE_SECONDS}`,
        "MaxStartups 10:30:60",
        "AllowAgentForwarding no",
        "AllowTcpForwarding no",
        "AllowStreamLocalForwarding no",
        "GatewayPorts no",
        "X11Forwarding no",
        "PermitTunnel no",
        "PermitUserEnvironment no",
        // Compression before authentication has had exploitable bugs, and encrypted compressed data leaks sizes.
        "Compression no",
        `MaxSessions ${MAX_SESSIONS}`,
        "ClientAliveInterval 300",
        "ClientAliveCountMax 2",
        "LogLevel VERBOSE",
        `KexAlgorithms ${KEX.join(",")}`,
        `Ciphers ${CIPHERS.join(",")}`,
        `MACs ${MACS.join(",")}`,
        "",
    ].join("\n");
}
