/**
 * Cloud-init user data for a new server: the admin user with its keys and the SSH hardening, applied in
 * cloud-init's first stage, before sshd accepts its first connection. Everything else on the host is applied
 * later by idempotent remote steps, so this document rarely changes (and in prod a change is ignored, PROT-3).
 */
import { stringify } from "yaml";
import { renderSshdConfig, SSHD_DROPIN_PATH } from "./sshd";

export type UserDataOptions = {
    /** Non-root admin user with sudo (HOST-3). */
    adminUser: string;
    /** Its authorized_keys lines. */
    adminSshPublicKeys: readonly string[];
    /** SSH port; default 22. */
    sshPort?: number;
    /** Server host name. */
    hostname: string;
};

export function renderUserData(opts: UserDataOptions): string {
    const doc = {
        hostname: opts.hostname,
        // Keeps the host name resolvable (sudo and others look it up).
        manage_etc_hosts: true,
        // No "default" entry: the image's default user (debian/admin) is not created; only the named admin exists.
        users: [
            {
                name: opts.adminUser,
                gecos: "Administrator (managed by Pulumi)",
                groups: ["sudo"],
                shell: "/bin/bash",
                lock_passwd: true,
                // Key-only login with no password to type: the remote steps need non-interactive sudo.
                sudo: "ALL=(ALL) NOPASSWD:ALL",
                ssh_authorized_keys: [...opts.adminSshPublicKeys],
            },
        ],
        disable_root: true,
        ssh_pwauth: false,
        write_files: [
            {
                path: SSHD_DROPIN_PATH,
                owner: "root:root",
                permissions: "0644",
                content: renderSshdConfig({ adminUser: opts.adminUser, port: opts.sshPort }),
            },
        ],
        // Reload only a configuration that sshd accepts; a broken one leaves the image's defaults running.
        runcmd: [["sh", "-c", "sshd -t && systemctl reload ssh"]],
    };
    return "#cloud-config\n" + stringify(doc, { lineWidth: 0 });
}
