/**
 * The OS baseline beyond SSH and the firewall, after dev-sec's linux-baseline and CIS Debian Level 1: the
 * security suite in APT's sources (HOST-6), core dumps off (HOST-8), unused network protocols and file systems
 * kept out of the kernel (HOST-9), restrictive default permissions (HOST-10) and an audit trail (LOG-3). Each
 * file is rendered here; the HostHardening steps ship them.
 */

/** `/etc/apt/sources.list.d/debian-security.sources`: Debian's security suite in deb822 form (HOST-6). */
export const SECURITY_SOURCES_PATH = "/etc/apt/sources.list.d/debian-security.sources";

export function renderSecuritySources(codename = "bookworm"): string {
    if (!/^[a-z]+$/.test(codename)) throw new Error(`security sources: codename ${JSON.stringify(codename)} must be a Debian release name such as bookworm`);
    return [
        "# Managed by Pulumi (HOST-6): Debian's security updates, which unattended-upgrades installs.",
        "Types: deb",
        "URIs: http://deb.debian.org/debian-security",
        `Suites: ${codename}-security`,
        "Components: main",
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
        "",
    ].join("\n");
}

/** Where core dumps are switched off (HOST-8): PAM sessions, systemd services, and systemd-coredump if installed. */
export const CORE_LIMITS_PATH = "/etc/security/limits.d/10-no-core-dumps.conf";
export const CORE_SYSTEMD_PATH = "/etc/systemd/system.conf.d/10-no-core-dumps.conf";
export const COREDUMP_CONF_PATH = "/etc/systemd/coredump.conf.d/10-no-core-dumps.conf";

/** A core dump of a process that held secrets (the app's, PostgreSQL's) would write them to disk. */
export function renderCoreDumpFiles(): { path: string; content: string }[] {
    return [
        { path: CORE_LIMITS_PATH, content: "# Managed by Pulumi (HOST-8): no core dumps for login sessions.\n*    hard    core    0\nroot hard    core    0\n" },
        { path: CORE_SYSTEMD_PATH, content: "# Managed by Pulumi (HOST-8): no core dumps for services.\n[Manager]\nDefaultLimitCORE=0\n" },
        { path: COREDUMP_CONF_PATH, content: "# Managed by Pulumi (HOST-8): systemd-coredump, if installed, keeps nothing.\n[Coredump]\nStorage=none\nProcessSizeMax=0\n" },
    ];
}

/** `/etc/modprobe.d/10-hardening.conf` (HOST-9). */
export const MODPROBE_PATH = "/etc/modprobe.d/10-hardening.conf";

/**
 * Kernel modules a web server never needs, each a past source of kernel vulnerabilities (CIS 3.4 and 1.1.1).
 * Left loadable: vfat and iso9660 (cloud-init's config drives, the EFI partition), squashfs, overlay, and
 * everything the firewall and PostgreSQL use.
 */
export const BLACKLISTED_MODULES: ReadonlyArray<readonly [string, string]> = [
    ["dccp", "Datagram Congestion Control Protocol: unused, several privilege escalations"],
    ["sctp", "Stream Control Transmission Protocol: unused by nginx, PostgreSQL and the app"],
    ["rds", "Reliable Datagram Sockets: unused, local root exploits"],
    ["tipc", "Transparent Inter-Process Communication: cluster protocol, unused"],
    ["cramfs", "compressed ROM file system: never mounted on a server"],
    ["freevxfs", "Veritas file system: never mounted on a server"],
    ["jffs2", "flash file system: never mounted on a server"],
    ["hfs", "Apple file system: never mounted on a server"],
    ["hfsplus", "Apple file system: never mounted on a server"],
    ["udf", "optical media file system: never mounted on these servers"],
];

/** `install <module> /bin/false` makes any load fail (also on demand by a socket call); blacklist stops aliases. */
export function renderModprobe(): string {
    return [
        "# Managed by Pulumi (HOST-9): modules this server never loads.",
        ...BLACKLISTED_MODULES.flatMap(([m, why]) => [`# ${why}`, `install ${m} /bin/false`, `blacklist ${m}`]),
        "",
    ].join("\n");
}

/** `/etc/profile.d/10-umask.sh`: the umask of login shells (HOST-10); login.defs gives it to login(1) and useradd. */
export const UMASK_PROFILE_PATH = "/etc/profile.d/10-umask.sh";
export const LOGIN_UMASK = "027";

export function renderUmaskProfile(): string {
    return `# Managed by Pulumi (HOST-10): files new in a login session are not readable by other users.\numask ${LOGIN_UMASK}\n`;
}

/** Bash lines that set keys of /etc/login.defs in place, idempotently (the file belongs to the login package). */
export function loginDefsCommands(settings: Readonly<Record<string, string>>): string[] {
    for (const [k, v] of Object.entries(settings)) if (!/^[A-Z_]+$/.test(k) || !/^[0-9]+$/.test(v)) throw new Error(`login.defs: ${k} ${v} is not a key and a number`);
    return [
        // Only the setting's own line (`UMASK 022`, `#HOME_MODE 0700`), not comments that mention it.
        'login_defs() { if grep -qE "^#?$1[[:space:]]" /etc/login.defs; then sed -i -E "s|^#?$1[[:space:]].*|$1 $2|" /etc/login.defs; else echo "$1 $2" >>/etc/login.defs; fi; }',
        ...Object.entries(settings).map(([k, v]) => `login_defs ${k} ${v}`),
    ];
}

/**
 * Bash lines that take group and other access away where CIS Debian asks (5.1.2-5.1.7 cron, 5.2.1 sshd_config,
 * 6.2.x home directories). Idempotent; run on every apply, since packages may reset them.
 */
export const PERMISSION_COMMANDS = [
    // A server without cron has none of these; the others still get their modes.
    "chmod og-rwx /etc/crontab /etc/cron.hourly /etc/cron.daily /etc/cron.weekly /etc/cron.monthly /etc/cron.d 2>/dev/null || true",
    "chmod 0600 /etc/ssh/sshd_config",
    "for h in /home/*/; do [ -d \"$h\" ] && chmod 0750 \"$h\"; done",
];

/** `/etc/audit/rules.d/50-hardening.rules` (LOG-3). */
export const AUDIT_RULES_PATH = "/etc/audit/rules.d/50-hardening.rules";

/** What the audit trail watches: who may log in and act as root, how sshd is set up, the clock, kernel modules. */
export function renderAuditRules(): string {
    return [
        "## Managed by Pulumi (LOG-3): changes to identity, privileges, SSH, time and kernel modules.",
        "-w /etc/passwd -p wa -k identity",
        "-w /etc/group -p wa -k identity",
        "-w /etc/shadow -p wa -k identity",
        "-w /etc/gshadow -p wa -k identity",
        "-w /etc/sudoers -p wa -k sudoers",
        "-w /etc/sudoers.d/ -p wa -k sudoers",
        "-w /etc/ssh/sshd_config -p wa -k sshd",
        "-w /etc/ssh/sshd_config.d/ -p wa -k sshd",
        "-a always,exit -F arch=b64 -S adjtimex,settimeofday,clock_settime -k time-change",
        "-a always,exit -F arch=b32 -S adjtimex,settimeofday,clock_settime,stime -k time-change",
        "-w /etc/localtime -p wa -k time-change",
        "-a always,exit -F arch=b64 -S init_module,finit_module,delete_module -k modules",
        "-a always,exit -F arch=b32 -S init_module,finit_module,delete_module -k modules",
        "-w /usr/sbin/insmod -p x -k modules",
        "-w /usr/sbin/rmmod -p x -k modules",
        "-w /usr/sbin/modprobe -p x -k modules",
        "## Auditing on (augenrules loads this file after Debian's own rules).",
        "-e 1",
        "",
    ].join("\n");
}

/** `/etc/audit/auditd.conf` (LOG-3): Debian's settings, with the log rotated at a bounded size. */
export const AUDITD_CONF_PATH = "/etc/audit/auditd.conf";

/** The audit log's disk use: num_logs files of max_log_file MiB each, rotated by auditd itself. */
export const AUDIT_LOG_LIMITS = { maxLogFileMiB: 8, numLogs: 5 } as const;

export function renderAuditdConf(): string {
    return [
        "# Managed by Pulumi (LOG-3): Debian's auditd.conf, the log rotated by auditd at a bounded size.",
        "local_events = yes",
        "write_logs = yes",
        "log_file = /var/log/audit/audit.log",
        "log_group = adm",
        "log_format = ENRICHED",
        "flush = INCREMENTAL_ASYNC",
        "freq = 50",
        `max_log_file = ${AUDIT_LOG_LIMITS.maxLogFileMiB}`,
        `num_logs = ${AUDIT_LOG_LIMITS.numLogs}`,
        "priority_boost = 4",
        "name_format = NONE",
        "max_log_file_action = ROTATE",
        "space_left = 75",
        "space_left_action = SYSLOG",
        "verify_email = yes",
        "action_mail_acct = root",
        "admin_space_left = 50",
        "admin_space_left_action = SYSLOG",
        "disk_full_action = ROTATE",
        "disk_error_action = SYSLOG",
        "use_libwrap = yes",
        "tcp_listen_queue = 5",
        "tcp_max_per_addr = 1",
        "tcp_client_max_idle = 0",
        "transport = TCP",
        "krb5_principal = auditd",
        "distribute_network = no",
        "q_depth = 2000",
        "overflow_action = SYSLOG",
        "max_restarts = 10",
        "plugin_dir = /etc/audit/plugins.d",
        "end_of_event_timeout = 2",
        "",
    ].join("\n");
}
