/**
 * The host itself (SSH-1..4, HOST-1..3), judged on the files the remote steps and cloud-init ship.
 */
import { parse as parseYaml } from "yaml";
import { HostFile, hostFiles, hostScripts, parseIni, parseKeyValues, parseSshd, parseUnit, ResourceLike, seconds, unitValue } from "./parse";
import { ChecklistPolicy, Context, firstStep, hasHosts, isServer, stackPolicy } from "./support";

/** Files under a directory; reports once when hosts exist but no step ships any. */
function required(resources: readonly ResourceLike[], ctx: Context, match: (f: HostFile) => boolean, what: string): HostFile[] {
    const files = hostFiles(resources).filter(match);
    if (files.length === 0 && hasHosts(resources)) {
        const at = firstStep(resources);
        if (at) ctx.report(`no remote step ships ${what}; keep the HostHardening step that writes it.`, at);
    }
    return files;
}

const sshdDropIns = (resources: readonly ResourceLike[], ctx: Context) =>
    required(resources, ctx, (f) => f.path.startsWith("/etc/ssh/sshd_config.d/") && f.path.endsWith(".conf"), "an sshd drop-in (/etc/ssh/sshd_config.d/*.conf)").map((f) => ({ f, cfg: parseSshd(f.content) }));

export const ssh1: ChecklistPolicy = stackPolicy({
    id: "SSH-1",
    slug: "no-root-login",
    description: "sshd refuses root logins (PermitRootLogin no).",
    severity: "critical",
    remediation: "Set PermitRootLogin no in the sshd drop-in (lib/render/sshd.ts).",
    check: (resources, ctx) => {
        for (const { f, cfg } of sshdDropIns(resources, ctx)) {
            if (cfg.get("permitrootlogin") !== "no") ctx.report(`${f.path} (${f.from.name}) has PermitRootLogin ${cfg.get("permitrootlogin") ?? "unset"}; set PermitRootLogin no.`, f.from);
        }
    },
});

export const ssh2: ChecklistPolicy = stackPolicy({
    id: "SSH-2",
    slug: "key-only-login",
    description: "sshd allows public keys only: PasswordAuthentication no, KbdInteractiveAuthentication no.",
    severity: "critical",
    remediation: "Set PasswordAuthentication no and KbdInteractiveAuthentication no in the sshd drop-in.",
    check: (resources, ctx) => {
        for (const { f, cfg } of sshdDropIns(resources, ctx)) {
            for (const key of ["passwordauthentication", "kbdinteractiveauthentication"]) {
                if (cfg.get(key) !== "no") ctx.report(`${f.path} (${f.from.name}) has ${key} ${cfg.get(key) ?? "unset (defaults to yes)"}; set it to no.`, f.from);
            }
        }
    },
});

export const ssh3: ChecklistPolicy = stackPolicy({
    id: "SSH-3",
    slug: "ssh-admin-only",
    description: "sshd lets in only the named admin user (AllowUsers), MaxAuthTries <= 3, LoginGraceTime <= 30 s, no agent, TCP or X11 forwarding.",
    severity: "high",
    remediation: "Keep AllowUsers <admin>, MaxAuthTries 3, LoginGraceTime 30 and the forwarding switches off in the sshd drop-in.",
    check: (resources, ctx) => {
        for (const { f, cfg } of sshdDropIns(resources, ctx)) {
            const problems: string[] = [];
            const users = (cfg.get("allowusers") ?? "").split(/\s+/).filter(Boolean);
            if (users.length === 0) problems.push("AllowUsers is not set");
            if (users.includes("root")) problems.push("AllowUsers lets root in");
            if (!(Number(cfg.get("maxauthtries")) <= 3)) problems.push(`MaxAuthTries is ${cfg.get("maxauthtries") ?? "unset (6)"}, not <= 3`);
            const grace = seconds(cfg.get("logingracetime"));
            if (grace === undefined || grace === 0 || grace > 30) problems.push(`LoginGraceTime is ${cfg.get("logingracetime") ?? "unset (120)"}, not <= 30`);
            for (const k of ["allowagentforwarding", "allowtcpforwarding", "x11forwarding"]) if (cfg.get(k) !== "no") problems.push(`${k} is ${cfg.get(k) ?? "unset"}, not no`);
            if (problems.length) ctx.report(`${f.path} (${f.from.name}): ${problems.join("; ")}. Fix the sshd drop-in.`, f.from);
        }
    },
});

export const ssh4: ChecklistPolicy = stackPolicy({
    id: "SSH-4",
    slug: "fail2ban-sshd-jail",
    description: "fail2ban's sshd jail is enabled with maxretry <= 5, findtime >= 600 s, bantime >= 3600 s.",
    severity: "high",
    remediation: "Ship /etc/fail2ban/jail.d/sshd.local with enabled = true, maxretry = 5, findtime = 600, bantime = 3600 (backend = systemd).",
    check: (resources, ctx) => {
        for (const f of required(resources, ctx, (f) => /^\/etc\/fail2ban\/jail\.d\/.*\.(local|conf)$/.test(f.path) && /^\[sshd\]/m.test(f.content), "a fail2ban sshd jail")) {
            const jail = parseIni(f.content).get("sshd") ?? new Map();
            const problems: string[] = [];
            if (jail.get("enabled") !== "true") problems.push("it is not enabled");
            if (!(Number(jail.get("maxretry")) <= 5)) problems.push(`maxretry is ${jail.get("maxretry") ?? "unset"}`);
            if (!((seconds(jail.get("findtime")) ?? 0) >= 600)) problems.push(`findtime is ${jail.get("findtime") ?? "unset"}`);
            if (!((seconds(jail.get("bantime")) ?? 0) >= 3600)) problems.push(`bantime is ${jail.get("bantime") ?? "unset"}`);
            if (problems.length) ctx.report(`${f.path} (${f.from.name}): ${problems.join("; ")}. Use enabled = true, maxretry <= 5, findtime >= 600, bantime >= 3600.`, f.from);
        }
    },
});

export const host1: ChecklistPolicy = stackPolicy({
    id: "HOST-1",
    slug: "unattended-upgrades",
    description: "Unattended security upgrades are installed and switched on.",
    severity: "high",
    remediation: "Ship /etc/apt/apt.conf.d/20auto-upgrades with Update-Package-Lists and Unattended-Upgrade set to 1, and install unattended-upgrades.",
    check: (resources, ctx) => {
        for (const f of required(resources, ctx, (f) => /^\/etc\/apt\/apt\.conf\.d\/.*auto-upgrades$/.test(f.path), "/etc/apt/apt.conf.d/20auto-upgrades")) {
            for (const key of ["APT::Periodic::Update-Package-Lists", "APT::Periodic::Unattended-Upgrade"]) {
                const value = new RegExp(`^${key.replace(/:/g, ":")}\\s+"(\\d+)";`, "m").exec(f.content)?.[1];
                if (!value || value === "0") ctx.report(`${f.path} (${f.from.name}) does not turn on ${key}; set it to "1".`, f.from);
            }
        }
        if (hasHosts(resources) && !hostScripts(resources).some(({ script }) => /install .*\bunattended-upgrades\b/.test(script))) {
            const at = firstStep(resources);
            if (at) ctx.report("no remote step installs unattended-upgrades; keep it in the HostHardening packages step.", at);
        }
    },
});

/** The sysctl values HOST-2 requires. */
export const REQUIRED_SYSCTL: Readonly<Record<string, string>> = {
    "net.ipv4.conf.all.rp_filter": "1",
    "net.ipv4.conf.all.accept_redirects": "0",
    "net.ipv6.conf.all.accept_redirects": "0",
    "net.ipv4.conf.all.send_redirects": "0",
    "net.ipv4.conf.all.accept_source_route": "0",
    "net.ipv6.conf.all.accept_source_route": "0",
    "net.ipv4.tcp_syncookies": "1",
};

export const host2: ChecklistPolicy = stackPolicy({
    id: "HOST-2",
    slug: "sysctl-hardening",
    description: "Kernel and network sysctl hardening: reverse-path filtering, no ICMP redirects, no source routing, SYN cookies.",
    severity: "medium",
    remediation: "Ship /etc/sysctl.d/60-hardening.conf (lib/render/sysctl.ts).",
    check: (resources, ctx) => {
        const files = required(resources, ctx, (f) => f.path.startsWith("/etc/sysctl.d/"), "a sysctl hardening file in /etc/sysctl.d");
        if (files.length === 0) return;
        const merged = new Map(files.flatMap((f) => [...parseKeyValues(f.content)]));
        const wrong = Object.entries(REQUIRED_SYSCTL).filter(([k, v]) => merged.get(k) !== v);
        if (wrong.length) ctx.report(`the sysctl files shipped by ${files[0].from.name} leave ${wrong.map(([k, v]) => `${k} (needs ${v}, is ${merged.get(k) ?? "unset"})`).join(", ")}; set them.`, files[0].from);
    },
});

export const host3: ChecklistPolicy = stackPolicy({
    id: "HOST-3",
    slug: "admin-and-app-users",
    description: "A dedicated non-root admin user with sudo and key-only login; the app runs as its own system user.",
    severity: "high",
    remediation: "Create the admin user in cloud-init (sudo group, lock_passwd) and run the app unit as the app's system user.",
    check: (resources, ctx) => {
        for (const s of resources.filter(isServer)) {
            const doc = typeof s.props.userData === "string" ? parseYaml(s.props.userData) ?? {} : {};
            const users = ((doc.users ?? []) as (string | Record<string, any>)[]).filter((u): u is Record<string, any> => typeof u === "object");
            const admin = users.find((u) => u.name !== "root" && ((u.groups ?? []) as string[]).concat(String(u.groups ?? "").split(",")).includes("sudo"));
            if (!admin) ctx.report(`server ${s.name}'s user data creates no non-root admin user in the sudo group; add one (lib/render/cloud-init.ts).`, s);
            else if (admin.lock_passwd !== true) ctx.report(`server ${s.name}'s admin user ${admin.name} has a usable password; set lock_passwd: true.`, s);
        }
        for (const f of hostFiles(resources).filter((f) => f.path.startsWith("/etc/systemd/system/") && f.path.endsWith(".service") && /LoadCredential=/.test(f.content))) {
            const user = unitValue(parseUnit(f.content), "Service", "User");
            if (!user || user === "root" || user === "0") ctx.report(`${f.path} (${f.from.name}) runs the app as ${user ?? "root (no User=)"}; run it as the app's system user.`, f.from);
        }
    },
});

export const hostPolicies = [ssh1, ssh2, ssh3, ssh4, host1, host2, host3];
