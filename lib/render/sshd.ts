/**
 * The sshd drop-in that enforces SSH-1..3. Debian 12's `/etc/ssh/sshd_config` includes
 * `/etc/ssh/sshd_config.d/*.conf` before its own settings and sshd keeps the first value it reads, so a drop-in
 * named before cloud-init's `50-cloud-init.conf` wins over everything else.
 */
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

/** Renders the drop-in. Values chosen against the dev-sec ssh-baseline. */
export function renderSshdConfig(opts: SshdOptions): string {
    const port = opts.port ?? 22;
    return [
        "# Managed by Pulumi: SSH hardening (checklist SSH-1..3). Local edits are overwritten.",
        `Port ${port}`,
        "PermitRootLogin no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitEmptyPasswords no",
        "PubkeyAuthentication yes",
        "AuthenticationMethods publickey",
        `AllowUsers ${opts.adminUser}`,
        "MaxAuthTries 3",
        "LoginGraceTime 30",
        "MaxStartups 10:30:60",
        "AllowAgentForwarding no",
        "AllowTcpForwarding no",
        "AllowStreamLocalForwarding no",
        "GatewayPorts no",
        "X11Forwarding no",
        "PermitTunnel no",
        "PermitUserEnvironment no",
        "ClientAliveInterval 300",
        "ClientAliveCountMax 2",
        "LogLevel VERBOSE",
        `KexAlgorithms ${KEX.join(",")}`,
        `Ciphers ${CIPHERS.join(",")}`,
        `MACs ${MACS.join(",")}`,
        "",
    ].join("\n");
}
