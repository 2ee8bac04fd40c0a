/**
 * The controls of the security checklist with their stable IDs, and the enforcement level each gets per
 * environment. docs/checklist.md is generated from them (`npm run docs`); tests/policies.test.ts checks that the
 * pack enforces every control of that document.
 */
import type { EnforcementLevel } from "@pulumi/policy";
import { BACKUP_STALE_HOURS, HSTS_MIN_MAX_AGE, SSH_LOGIN_GRACE_SECONDS, SSH_MAX_AUTH_TRIES } from "../lib/controls";

export const CHECKLIST = {
    "NET-1": "Public inbound traffic reaches only 80 and 443; SSH only from the admin CIDRs (never the world in prod)",
    "NET-2": "The database port (5432) is never reachable from the internet",
    "NET-3": "The host firewall (ufw) is enabled with default deny incoming, and a cloud firewall is attached to every server",
    "NET-4": "The application listens on 127.0.0.1 only; only nginx faces the internet",
    "NET-5": "Outbound-only services (node exporter, postgres) bind to localhost or the private network",
    "NET-6": "Behind a load balancer, the servers' web ports answer only the load balancer (over the private network)",
    "NET-7": "The load balancer health-checks each server on the app's health path and takes it out of rotation unless it answers 2xx",
    "SSH-1": "PermitRootLogin no",
    "SSH-2": "PasswordAuthentication no and KbdInteractiveAuthentication no; key-only login",
    "SSH-3": `Login only for the admin user, MaxAuthTries <= ${SSH_MAX_AUTH_TRIES}, LoginGraceTime <= ${SSH_LOGIN_GRACE_SECONDS}s, no agent/TCP/X11 forwarding`,
    "SSH-4": "fail2ban sshd jail: maxretry <= 5, findtime >= 600 s, bantime >= 3600 s",
    "SSH-5": "Host keys Ed25519 (plus RSA >= 3072 bits), no ECDSA key offered; no Diffie-Hellman group under 3072 bits",
    "SSH-6": "Compression no, MaxSessions <= 4",
    "HOST-1": "Unattended security upgrades enabled",
    "HOST-2": "Kernel/network sysctl hardening",
    "HOST-3": "A dedicated non-root admin user with sudo; the app runs as its own system user",
    "HOST-4": "Cloud servers answer their instance metadata service only with session tokens (IMDSv2, hop limit 1) or not at all",
    "HOST-5": "Cloud server disks are encrypted at rest (EBS root, extra and launch template volumes)",
    "HOST-6": "Debian's security suite is in the APT sources, and unattended-upgrades installs from it",
    "HOST-7": "Kernel self-protection sysctls: ptrace_scope, sysrq, kptr/dmesg restrict, BPF, protected links/FIFOs/files, suid_dumpable, ldisc_autoload",
    "HOST-8": "Core dumps off: hard core limit 0 for sessions and services, systemd-coredump stores nothing, fs.suid_dumpable = 0",
    "HOST-9": "Unused network protocols (dccp, sctp, rds, tipc) and file systems cannot be loaded",
    "HOST-10": "Login umask 027, home directories 0750, cron and sshd_config readable by root only",
    "TLS-1": "Port 80 answers only with a 301 to https (ACME challenge excepted)",
    "TLS-2": "ssl_protocols is TLSv1.2 and/or TLSv1.3 only",
    "TLS-3": "Ciphers: ECDHE with AEAD only (Mozilla intermediate)",
    "TLS-4": `HSTS max-age >= ${HSTS_MIN_MAX_AGE} with includeSubDomains, sent always`,
    "TLS-5": "Let's Encrypt certificates (staging CA for staging) with automatic renewal and an nginx reload",
    "TLS-6": "TLS session cache on, ssl_session_tickets off",
    "TLS-7": "A load balancer redirects HTTP to HTTPS and passes TLS through to nginx (or terminates it with a TLS 1.2+ policy as strict)",
    "HDR-1": "X-Content-Type-Options: nosniff",
    "HDR-2": "X-Frame-Options: DENY (or SAMEORIGIN)",
    "HDR-3": "Referrer-Policy: strict-origin-when-cross-origin or stricter",
    "HDR-4": "Permissions-Policy denying camera, microphone, geolocation",
    "HDR-5": "Content-Security-Policy set; in prod no 'unsafe-inline' / 'unsafe-eval' in script-src",
    "HDR-6": "server_tokens off",
    "RL-1": "The login path is rate limited per client IP: <= 5 r/m, burst <= 5, excess answered 429",
    "RL-2": "The API prefix is rate limited per client IP",
    "PX-1": "Proxy sets Host, X-Real-IP, X-Forwarded-For, X-Forwarded-Proto; timeouts set",
    "PX-2": "Dotfiles are denied; an uploads location is internal or served without execution",
    "PX-3": "Request body size limited",
    "PX-4": "Behind a load balancer nginx sees each client's address (PROXY protocol or X-Forwarded-For, believed only from the load balancer), and the app jail bans that address in nginx",
    "SVC-1": "The app's systemd unit runs as a dedicated non-root user",
    "SVC-2": "systemd hardening: NoNewPrivileges, ProtectSystem=strict, ProtectHome, PrivateTmp, PrivateDevices, ReadWritePaths, empty CapabilityBoundingSet",
    "SVC-3": "Restart=on-failure with a back-off",
    "SVC-4": "Secrets through LoadCredential= or a root-owned 0600 file, never Environment= or a .env file",
    "SVC-5": "Debug mode off in prod, production mode, log level INFO",
    "SVC-6": "A health endpoint is checked on a timer; failures restart the service",
    "SEC-1": "Every generated secret has length >= 32 (app secret keys >= 48) and a full alphabet",
    "SEC-2": "No secret in plain stack config; no secret-looking literal in the program",
    "SEC-3": "Prod secrets are kept in AWS Secrets Manager with a recovery window >= 7 days",
    "SEC-4": "Secrets rotate on a period; encryption keys keep the previous key",
    "SEC-5": "No secret value in a command line, log, or output that is not marked secret",
    "SEC-6": "Only the app's service account can read its secrets (least-privilege IAM)",
    "DB-1": "The database is not publicly accessible",
    "DB-2": "Database connections use TLS (ssl = on; hostssl for non-local clients)",
    "DB-3": "The app's role is not a superuser, owns only its database, no grants to PUBLIC",
    "DB-4": "password_encryption = scram-sha-256; no trust rules except local peer for postgres",
    "DB-5": "RDS: storage encrypted, backup retention >= 7 days, deletion protection in prod, automatic minor upgrades",
    "BK-1": "Daily (02:00) and weekly (Sunday 03:00) backups as persistent systemd timers",
    "BK-2": "Retention: daily >= 30 days, weekly >= 90 days, uploads >= 7 days",
    "BK-3": "Each backup is verified after writing and the job fails loudly on any error",
    "BK-4": "Backups are compressed and written atomically",
    "BK-5": "Prod copies every backup off-site (S3)",
    "BK-6": "The off-site bucket: public access blocked, encrypted, versioned, TLS-only, lifecycle expiry, put-only writer",
    "BK-7": "A scheduled restore drill restores the newest backup into a scratch database and checks it",
    "BK-8": `A stale-backup check fails when the newest backup is older than ${BACKUP_STALE_HOURS} hours`,
    "LOG-1": "logrotate for the app logs: daily, >= 30 days (error logs >= 90), compressed, create 0640 for the app user",
    "LOG-2": "fail2ban app jail on the SECURITY[...] lines: maxretry 5, findtime 600, bantime 3600",
    "LOG-3": "auditd records changes to identity files, sudoers, sshd's configuration, the clock and kernel modules; its log is rotated at a bounded size",
    "MON-1": "Resource alerts: CPU > 80 % for 5 min, memory > 90 %, disk > 85 %, app errors > 10/min",
    "MON-2": "Metrics endpoints (node exporter) are not public",
    "PROT-1": "In prod, stateful resources are protected and have provider-side delete protection",
    "PROT-2": "In prod, provider backups of the server are enabled",
    "PROT-3": "A user data change never replaces a prod server silently",
} as const;

export type ChecklistId = keyof typeof CHECKLIST;
export const CHECKLIST_IDS = Object.keys(CHECKLIST) as ChecklistId[];

export type Environment = "staging" | "prod";

/** The checklist's levels (docs/checklist.md): prod mandatory for all; staging mandatory for NET, SSH, SEC, TLS-1..3, DB-1, advisory otherwise. */
export function levelFor(id: ChecklistId, environment: Environment): EnforcementLevel {
    if (environment === "prod") return "mandatory";
    return /^(NET|SSH|SEC)-/.test(id) || ["TLS-1", "TLS-2", "TLS-3", "DB-1"].includes(id) ? "mandatory" : "advisory";
}
