/**
 * The host itself (SSH-1..4, HOST-1..3), judged on the files the remote steps and cloud-init ship.
 */
import { parse as parseYaml } from "yaml";
import { aptConfig, AptSetting, asList, EffectiveSshd, effectiveSshd, fail2banJails, Fail2banSetting, fail2banSeconds, fail2banTrue, HostFile, hostFiles, hostIndex, hostScripts, parseUnit, ResourceLike, seconds, sysctlValue, unitValue } from "./parse";
import { ChecklistPolicy, Context, firstStep, hasHosts, HOST_FILE_CARRIERS, isServer, stackPolicy } from "./support";
import { SSH_LOGIN_GRACE_SECONDS, SSH_MAX_AUTH_TRIES } from "../lib/controls";

/** Files under a directory; reports once when hosts exist but no step ships any. */
function required(resources: readonly ResourceLike[], ctx: Context, match: (f: HostFile) => boolean, what: string): HostFile[] {
    const files = hostFiles(resources).filter(match);
    if (files.length === 0 && hasHosts(resources)) {
        const at = firstStep(resources);
        if (at) ctx.missing(`no remote step ships ${what}; keep the HostHardening step that writes it.`, at);
    }
    return files;
}

/**
 * sshd's effective configuration per host: the sshd files each host's steps ship (grouped by the server index in
 * the step's name; a file from a step without one applies to every host), read the way sshd reads them.
 */
export function sshdHosts(resources: readonly ResourceLike[], ctx: Context): { sshd: EffectiveSshd; fallback: HostFile }[] {
    const files = hostFiles(resources).filter((f) => f.path === "/etc/ssh/sshd_config" || (f.path.startsWith("/etc/ssh/sshd_config.d/") && f.path.endsWith(".conf")));
    if (files.length === 0) {
        required(resources, ctx, () => false, "an sshd drop-in (/etc/ssh/sshd_config.d/*.conf)");
        return [];
    }
    const hosts = [...new Set(files.map(hostIndex).filter((h): h is string => h !== undefined))];
    return (hosts.length ? hosts : ["*"]).map((h) => {
        // A path written by cloud-init at boot and again by a remote step holds what the step wrote.
        const candidates = files.filter((f) => hostIndex(f) === h || hostIndex(f) === undefined);
        const mine = candidates.filter((f) => f.from.type === "command:remote:Command" || !candidates.some((o) => o.path === f.path && o.from.type === "command:remote:Command"));
        return { sshd: effectiveSshd(mine), fallback: mine.find((f) => f.path.startsWith("/etc/ssh/sshd_config.d/")) ?? mine[0] };
    });
}

/**
 * Checks one sshd keyword where it takes effect: its global value (the first one sshd reads, or sshd's default)
 * and every Match block that sets it for some connections. A value no shipped file sets is the stack's to judge
 * (`ctx.missing`): a resource judged alone may leave it to another.
 */
export function sshdKeyword(sshd: EffectiveSshd, fallback: HostFile, key: string, fallbackValue: string, ok: (v: string) => boolean, ctx: Context, describe: (v: string, where: string) => string): void {
    const global = sshd.global.get(key);
    const value = global?.value ?? fallbackValue;
    if (!ok(value)) {
        const message = describe(global ? value : `${value} (unset: sshd's default)`, global?.file ? `${global.file.path}` : "the effective configuration");
        reporter(ctx, !global?.file)(message, global?.file ?? fallback);
    }
    for (const m of sshd.matches) {
        const v = m.settings.get(key);
        if (v && !ok(v.value)) reporter(ctx)(describe(v.value, `Match ${m.criteria} in ${v.file?.path ?? "sshd_config"}`), v.file ?? fallback);
    }
}

/** Reports a finding on the resource that ships a file, naming it; `missing` for what no file sets. */
export const reporter = (ctx: Context, missing = false) => (message: string, at: HostFile) => (missing ? ctx.missing : ctx.report)(`${message} (${at.from.name})`, at.from);

export const ssh1: ChecklistPolicy = stackPolicy({
    id: "SSH-1",
    slug: "no-root-login",
    description: "sshd refuses root logins (PermitRootLogin no), in its effective configuration: the first value sshd reads across sshd_config and its drop-ins, and in every Match block.",
    severity: "critical",
    resourceTypes: HOST_FILE_CARRIERS,
    remediation: "Set PermitRootLogin no in the sshd drop-in (lib/render/sshd.ts), and in no file read before it or in a Match block set it otherwise.",
    check: (resources, ctx) => {
        for (const { sshd, fallback } of sshdHosts(resources, ctx)) {
            sshdKeyword(sshd, fallback, "permitrootlogin", "prohibit-password", (v) => v === "no", ctx, (v, where) => `${where} has PermitRootLogin ${v}; set PermitRootLogin no`);
        }
    },
});

export const ssh2: ChecklistPolicy = stackPolicy({
    id: "SSH-2",
    slug: "key-only-login",
    description: "sshd allows public keys only: PasswordAuthentication no, KbdInteractiveAuthentication no, no AuthenticationMethods that admit a password, in the effective configuration and every Match block.",
    severity: "critical",
    resourceTypes: HOST_FILE_CARRIERS,
    remediation: "Set PasswordAuthentication no and KbdInteractiveAuthentication no in the sshd drop-in, with nothing read before it or in a Match block turning them on.",
    check: (resources, ctx) => {
        for (const { sshd, fallback } of sshdHosts(resources, ctx)) {
            for (const key of ["passwordauthentication", "kbdinteractiveauthentication"]) {
                sshdKeyword(sshd, fallback, key, "yes", (v) => v === "no", ctx, (v, where) => `${where} has ${key} ${v}; set it to no`);
            }
            sshdKeyword(sshd, fallback, "authenticationmethods", "any", (v) => !/\b(password|keyboard-interactive)\b/.test(v), ctx, (v, where) => `${where} has AuthenticationMethods ${v}, which admits a password; use publickey`);
        }
    },
});

export const ssh3: ChecklistPolicy = stackPolicy({
    id: "SSH-3",
    slug: "ssh-admin-only",
    description: `sshd lets in only the named admin user (AllowUsers), MaxAuthTries <= ${SSH_MAX_AUTH_TRIES}, LoginGraceTime <= ${SSH_LOGIN_GRACE_SECONDS} s, no agent, TCP or X11 forwarding, in the effective configuration and every Match block.`,
    severity: "high",
    resourceTypes: HOST_FILE_CARRIERS,
    remediation: `Keep AllowUsers <admin>, MaxAuthTries ${SSH_MAX_AUTH_TRIES}, LoginGraceTime ${SSH_LOGIN_GRACE_SECONDS} and the forwarding switches off in the sshd drop-in, with nothing read before it or in a Match block loosening them.`,
    check: (resources, ctx) => {
        const report = reporter(ctx);
        for (const { sshd, fallback } of sshdHosts(resources, ctx)) {
            const users = (sshd.global.get("allowusers")?.value ?? "").split(/\s+/).filter(Boolean);
            if (users.length === 0) reporter(ctx, true)("AllowUsers is not set, so every account may try to log in; set AllowUsers <admin>", fallback);
            if (users.includes("root")) report("AllowUsers lets root in", sshd.global.get("allowusers")!.file ?? fallback);
            sshdKeyword(sshd, fallback, "maxauthtries", "6", (v) => Number(v) <= SSH_MAX_AUTH_TRIES, ctx, (v, where) => `${where}: MaxAuthTries is ${v}, not <= ${SSH_MAX_AUTH_TRIES}`);
            sshdKeyword(sshd, fallback, "logingracetime", "120", (v) => (seconds(v) ?? 0) > 0 && (seconds(v) ?? 0) <= SSH_LOGIN_GRACE_SECONDS, ctx, (v, where) => `${where}: LoginGraceTime is ${v}, not <= ${SSH_LOGIN_GRACE_SECONDS}`);
            for (const k of ["allowagentforwarding", "allowtcpforwarding", "x11forwarding"]) sshdKeyword(sshd, fallback, k, "yes", (v) => v === "no", ctx, (v, where) => `${where}: ${k} is ${v}, not no`);
        }
    },
});

/** The ports a fail2ban `port` value names (service names ssh/http/https, numbers, `a:b` ranges, comma lists). */
function jailPorts(value: string): { from: number; to: number }[] {
    const named: Record<string, number> = { ssh: 22, http: 80, https: 443 };
    return value.split(/[,\s]+/).filter(Boolean).map((p) => {
        const [a, b] = p.split(":").map((x) => named[x] ?? Number(x));
        return { from: a, to: b ?? a };
    });
}

/**
 * What keeps a jail from banning the way the checklist asks, each with the file that set the value (undefined:
 * fail2ban's stock files): not enabled, maxretry over 5, findtime under 600 s, bantime under 3600 s (a negative
 * bantime bans for ever), or a ban on ports other than the ones the service listens on.
 */
export function jailProblems(jail: Map<string, Fail2banSetting>, listens?: { port: number; what: string }): { problem: string; file?: HostFile }[] {
    const get = (k: string) => jail.get(k);
    const out: { problem: string; file?: HostFile }[] = [];
    const where = (k: string) => (get(k)?.file ? ` (${get(k)!.file!.path})` : get(k) ? " (fail2ban's stock default)" : " (unset)");
    if (!fail2banTrue(get("enabled")?.value)) out.push({ problem: `enabled = ${get("enabled")?.value ?? "false"}${where("enabled")}`, file: get("enabled")?.file });
    if (!(Number(get("maxretry")?.value) <= 5)) out.push({ problem: `maxretry = ${get("maxretry")?.value ?? "unset"}${where("maxretry")}`, file: get("maxretry")?.file });
    if (!((fail2banSeconds(get("findtime")?.value) ?? 0) >= 600)) out.push({ problem: `findtime = ${get("findtime")?.value ?? "unset"}${where("findtime")}`, file: get("findtime")?.file });
    if (!((fail2banSeconds(get("bantime")?.value) ?? 0) >= 3600)) out.push({ problem: `bantime = ${get("bantime")?.value ?? "unset"}${where("bantime")}`, file: get("bantime")?.file });
    const allPorts = /allports|^ufw$/.test(get("banaction")?.value ?? "");
    if (listens && !allPorts && get("port") && !jailPorts(get("port")!.value).some((r) => r.from <= listens.port && listens.port <= r.to)) {
        out.push({ problem: `port = ${get("port")!.value}${where("port")} bans other ports than ${listens.what} ${listens.port}, so a banned client keeps trying`, file: get("port")?.file });
    }
    return out;
}

export const ssh4: ChecklistPolicy = stackPolicy({
    id: "SSH-4",
    slug: "fail2ban-sshd-jail",
    description: "fail2ban's sshd jail, as fail2ban reads it (jail.conf, jail.d/*.conf, jail.local, jail.d/*.local in order, [DEFAULT] under each jail), is enabled with maxretry <= 5, findtime >= 600 s, bantime >= 3600 s, and bans the port sshd listens on.",
    severity: "high",
    resourceTypes: HOST_FILE_CARRIERS,
    remediation: "Ship /etc/fail2ban/jail.d/sshd.local with enabled = true, maxretry = 5, findtime = 600, bantime = 3600, port = <sshd port> (backend = systemd), and no later jail file or [DEFAULT] that loosens them.",
    check: (resources, ctx) => {
        const files = required(resources, ctx, (f) => /^\/etc\/fail2ban\/jail\.d\/.*\.(local|conf)$/.test(f.path) && /^\[sshd\]/m.test(f.content), "a fail2ban sshd jail");
        if (files.length === 0) return;
        const jail = fail2banJails(hostFiles(resources)).get("sshd")!;
        const sshd = sshdHosts(resources, ctx)[0]?.sshd;
        const port = Number(sshd?.global.get("port")?.value ?? 22);
        // A step judged alone without sshd's files cannot know its port: the stack check compares them.
        const listens = sshd || ctx.scope === "stack" ? { port, what: "sshd's port" } : undefined;
        for (const { problem, file } of jailProblems(jail, listens)) {
            const at = file ?? files[files.length - 1];
            // What fail2ban's stock files leave is the stack's to judge: another step's jail file may set it.
            (file ? ctx.report : ctx.missing)(`the fail2ban sshd jail has ${problem} (${at.from.name}); use enabled = true, maxretry <= 5, findtime >= 600, bantime >= 3600 and sshd's port.`, at.from);
        }
    },
});

/** APT::Periodic intervals that run: a positive number of days, or `always`. */
const periodicRuns = (v: string | undefined) => v === "always" || Number(v) > 0;

export const host1: ChecklistPolicy = stackPolicy({
    id: "HOST-1",
    slug: "unattended-upgrades",
    description: "Unattended security upgrades are installed and switched on, in APT's configuration as apt-config reads it (apt.conf.d in lexical order, nested and `::` syntax, #clear, APT::Periodic::Enable).",
    severity: "high",
    resourceTypes: HOST_FILE_CARRIERS,
    remediation: "Ship /etc/apt/apt.conf.d/20auto-upgrades with Update-Package-Lists and Unattended-Upgrade set to 1, install unattended-upgrades, and let no later apt.conf.d file set them (or APT::Periodic::Enable) to 0.",
    check: (resources, ctx) => {
        const files = required(resources, ctx, (f) => f.path.startsWith("/etc/apt/apt.conf"), "/etc/apt/apt.conf.d/20auto-upgrades");
        if (files.length > 0) {
            const { values } = aptConfig(hostFiles(resources));
            const at = (s: AptSetting | undefined) => s?.file ?? files[0];
            const enable = values.get("apt::periodic::enable");
            if (enable && !periodicRuns(enable.value)) ctx.report(`${enable.file.path} (${enable.file.from.name}) sets APT::Periodic::Enable "${enable.value}", which stops every periodic APT job; remove it.`, enable.file.from);
            for (const key of ["APT::Periodic::Update-Package-Lists", "APT::Periodic::Unattended-Upgrade"]) {
                const v = values.get(key.toLowerCase());
                if (!periodicRuns(v?.value)) (v ? ctx.report : ctx.missing)(`${v ? `${v.file.path} (${v.file.from.name}) sets ${key} "${v.value}"` : `no apt.conf.d file that APT reads sets ${key} (${at(v).from.name})`}, the value apt-config ends up with; set it to "1".`, at(v).from);
            }
        }
        if (hasHosts(resources) && !hostScripts(resources).some(({ script }) => /install .*\bunattended-upgrades\b/.test(script))) {
            const at = firstStep(resources);
            if (at) ctx.missing("no remote step installs unattended-upgrades; keep it in the HostHardening packages step.", at);
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
    description: "Kernel and network sysctl hardening: reverse-path filtering, no ICMP redirects, no source routing, SYN cookies, as systemd-sysctl leaves them (files in lexical order across sysctl.d and /etc/sysctl.conf, slash and glob keys).",
    severity: "medium",
    resourceTypes: HOST_FILE_CARRIERS,
    remediation: "Ship /etc/sysctl.d/99-zz-hardening.conf (lib/render/sysctl.ts).",
    check: (resources, ctx) => {
        const files = required(resources, ctx, (f) => f.path.startsWith("/etc/sysctl.d/"), "a sysctl hardening file in /etc/sysctl.d");
        if (files.length === 0) return;
        const all = hostFiles(resources);
        for (const [key, want] of Object.entries(REQUIRED_SYSCTL)) {
            const got = sysctlValue(all, key);
            if (got?.value !== want) {
                const shipped = got?.file && got.file.from.type !== "debian:stock";
                const at = shipped ? got.file : files[0];
                // A value Debian's own files leave is the stack's to judge: another step may set it.
                (shipped ? ctx.report : ctx.missing)(`${key} ends up ${got ? `${got.value} (set last by ${got.file.path})` : "unset"}, needs ${want} (${at.from.name}); set it in the hardening file and let no file read after it change it.`, at.from);
            }
        }
    },
});

export const host3: ChecklistPolicy = stackPolicy({
    id: "HOST-3",
    slug: "admin-and-app-users",
    description: "A dedicated non-root admin user with sudo (the sudo group in any spelling, or a sudo rule) and a locked password (cloud-init's lock_passwd, true unless set false; no ssh_pwauth); the app runs as its own system user.",
    severity: "high",
    resourceTypes: HOST_FILE_CARRIERS,
    remediation: "Create the admin user in cloud-init (sudo group, lock_passwd) and run the app unit as the app's system user.",
    check: (resources, ctx) => {
        for (const s of resources.filter(isServer)) {
            const doc = typeof s.props.userData === "string" ? parseYaml(s.props.userData) ?? {} : {};
            const users = ((doc.users ?? []) as (string | Record<string, any>)[]).filter((u): u is Record<string, any> => typeof u === "object");
            // groups may be a list or a comma-separated string; a sudo rule of its own also makes an admin.
            const groups = (u: Record<string, any>) => (Array.isArray(u.groups) ? u.groups.map(String) : String(u.groups ?? "").split(",")).map((g: string) => g.trim());
            const admin = users.find((u) => u.name !== "root" && (groups(u).includes("sudo") || asList(u.sudo).some((rule) => /ALL/.test(rule))));
            if (!admin) ctx.report(`server ${s.name}'s user data creates no non-root admin user in the sudo group; add one (lib/render/cloud-init.ts).`, s);
            // cloud-init locks the password unless lock_passwd is false (its default is true).
            else if (admin.lock_passwd === false) ctx.report(`server ${s.name}'s admin user ${admin.name} has a usable password (lock_passwd: false); set lock_passwd: true.`, s);
            if (doc.ssh_pwauth === true || /^(yes|true|1)$/i.test(String(doc.ssh_pwauth ?? ""))) ctx.report(`server ${s.name}'s user data sets ssh_pwauth, which turns SSH password logins on; remove it.`, s);
            if (users.some((x) => x.name === "root" && x.lock_passwd === false)) ctx.report(`server ${s.name}'s user data unlocks root's password; remove that.`, s);
        }
        for (const f of hostFiles(resources).filter((f) => f.path.startsWith("/etc/systemd/system/") && f.path.endsWith(".service") && /LoadCredential=/.test(f.content))) {
            const user = unitValue(parseUnit(f.content), "Service", "User");
            if (!user || user === "root" || user === "0") ctx.report(`${f.path} (${f.from.name}) runs the app as ${user ?? "root (no User=)"}; run it as the app's system user.`, f.from);
        }
    },
});

export const hostPolicies = [ssh1, ssh2, ssh3, ssh4, host1, host2, host3];
