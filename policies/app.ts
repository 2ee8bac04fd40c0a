/**
 * The app service, its logs and its monitoring (SVC-1..6, LOG-1..2, MON-1), judged on the units, scripts and
 * configuration files the remote steps ship.
 */
import { FAIL2BAN_EVENTS } from "../lib/render/fail2ban";
import { SECRET_ENV_NAME } from "../lib/render/systemd";
import { normalCalendar } from "./data";
import { jailProblems } from "./host";
import { Fail2banSetting, fail2banJails, generatedSecrets, HostFile, hostFiles, parseUnit, ResourceLike, revealedSecret, secretSpellings, serviceUnits, systemdSeconds, systemdTrue, Unit, unitCommand, unitEnvironment, unitValue, unitWords } from "./parse";
import { ChecklistPolicy, Context, firstStep, hasHosts, stackPolicy } from "./support";

/** The app's long-running units with their drop-ins applied (see `serviceUnits`). */
function appUnits(resources: readonly ResourceLike[], ctx: Context): { f: HostFile; unit: Unit }[] {
    const units = serviceUnits(resources);
    if (units.length === 0 && hasHosts(resources)) {
        const at = firstStep(resources);
        if (at) ctx.missing("no remote step ships the app's systemd unit; keep the AppService component.", at);
    }
    return units;
}

function unitPolicy(c: { id: "SVC-1" | "SVC-2" | "SVC-3" | "SVC-4" | "SVC-5"; slug: string; description: string; severity: "high" | "medium" | "critical"; remediation: string; problems: (unit: Unit, prod: boolean) => string[] }): ChecklistPolicy {
    return stackPolicy({
        ...c,
        check: (resources, ctx) => {
            for (const { f, unit } of appUnits(resources, ctx)) {
                const problems = c.problems(unit, ctx.prod);
                if (problems.length) ctx.report(`${f.path} (${f.from.name}): ${problems.join("; ")}.`, f.from);
            }
        },
    });
}

export const svc1 = unitPolicy({
    id: "SVC-1",
    slug: "dedicated-user",
    description: "The app's unit, with its drop-ins, runs as a dedicated non-root user (User=, or DynamicUser=); a drop-in's empty User= resets it to root.",
    severity: "high",
    remediation: "User=<app> and Group=<app> in [Service].",
    problems: (u) => {
        const user = unitValue(u, "Service", "User");
        // DynamicUser= allocates a transient user of its own when User= names none (or a name not yet taken).
        if (systemdTrue(unitValue(u, "Service", "DynamicUser")) && user !== "root" && user !== "0") return [];
        return !user || user === "root" || user === "0" ? [`it runs as ${user || "root (no User=, or User= reset by a drop-in)"}; set User=<app>`] : [];
    },
});

/** Paths that undo ProtectSystem=strict when made writable: the root, the OS and the configuration. */
const SYSTEM_PATHS = ["/", "/etc", "/usr", "/boot", "/efi", "/var", "/root", "/home", "/opt"];

export const SANDBOX: ReadonlyArray<readonly [string, (v: string | undefined) => boolean, string]> = [
    ["NoNewPrivileges", systemdTrue, "yes"],
    ["ProtectSystem", (v) => v === "strict", "strict"],
    ["ProtectHome", (v) => systemdTrue(v) || ["read-only", "tmpfs"].includes(v ?? ""), "yes"],
    ["PrivateTmp", systemdTrue, "yes"],
    ["PrivateDevices", systemdTrue, "yes"],
    ["ReadWritePaths", (v) => !!v, "the app's state and log directories"],
    ["CapabilityBoundingSet", (v) => v === "", "(empty)"],
];

/**
 * ReadWritePaths= entries (every line, a `-` or `+` prefix stripped) that open a system path to writes and so
 * undo ProtectSystem=strict.
 */
function writableSystemPaths(u: Unit): string[] {
    const paths = (u.get("Service")?.get("ReadWritePaths") ?? []).flatMap((v) => unitWords(v)).map((p) => p.replace(/^[-+]+/, "").replace(/(.)\/+$/, "$1"));
    return paths.filter((p) => SYSTEM_PATHS.includes(p));
}

export const svc2 = unitPolicy({
    id: "SVC-2",
    slug: "systemd-sandbox",
    description: "The app's unit, with its drop-ins, is sandboxed: NoNewPrivileges, ProtectSystem=strict, ProtectHome, PrivateTmp, PrivateDevices, ReadWritePaths limited to the app's directories, empty CapabilityBoundingSet (systemd's boolean spellings; an empty assignment resets).",
    severity: "high",
    remediation: "Keep the sandbox settings of lib/render/systemd.ts renderAppUnit.",
    problems: (u) => [
        ...SANDBOX.filter(([k, ok]) => !ok(unitValue(u, "Service", k))).map(([k, , want]) => `${k} is ${unitValue(u, "Service", k) || (unitValue(u, "Service", k) === "" ? "reset to its default" : "unset")}, needs ${want}`),
        ...writableSystemPaths(u).map((p) => `ReadWritePaths=${p} makes a system path writable and undoes ProtectSystem=strict; list only the app's own directories`),
    ],
});

export const svc3 = unitPolicy({
    id: "SVC-3",
    slug: "restart-with-backoff",
    description: "The app restarts on failure, with a delay between attempts.",
    severity: "medium",
    remediation: "Restart=on-failure, RestartSec=5s, and a StartLimit in [Unit].",
    problems: (u) => {
        const p: string[] = [];
        if (!["on-failure", "always", "on-abnormal"].includes(unitValue(u, "Service", "Restart") ?? "")) p.push(`Restart is ${unitValue(u, "Service", "Restart") ?? "unset"}; set Restart=on-failure`);
        // systemd's default RestartSec is 100ms.
        const delay = systemdSeconds(unitValue(u, "Service", "RestartSec") || "100ms");
        if (!((delay ?? 0) >= 1)) p.push(`RestartSec is ${unitValue(u, "Service", "RestartSec") || "100ms (unset: systemd's default)"}, under a second; set RestartSec=5s`);
        return p;
    },
});

export const svc4: ChecklistPolicy = stackPolicy({
    id: "SVC-4",
    slug: "secrets-as-credentials",
    description: "Secrets reach the app through LoadCredential= (root-owned 0600 files), never Environment= lines, a command line, a .env file or any other readable file, by name or by value.",
    severity: "critical",
    remediation: "Pass secrets as AppService credentials (LoadCredential=); remove EnvironmentFile= and secret Environment= lines.",
    check: (resources, ctx) => {
        for (const { f, unit } of appUnits(resources, ctx)) {
            const leaked = [...unitEnvironment(unit).keys()].filter((k) => SECRET_ENV_NAME.test(k));
            if (leaked.length) ctx.report(`${f.path} (${f.from.name}) puts ${leaked.join(", ")} in Environment=, visible to systemctl show; pass them as credentials.`, f.from);
            if (unit.get("Service")?.has("EnvironmentFile")) ctx.report(`${f.path} (${f.from.name}) reads an EnvironmentFile; pass secrets as credentials instead.`, f.from);
        }
        // By value: a generated secret (in any spelling) or a secret placeholder the host fills in, anywhere but a
        // root-only file, whatever the variable or file is called.
        const generated = generatedSecrets(resources);
        for (const f of hostFiles(resources)) {
            const unitFile = f.path.startsWith("/etc/systemd/system/");
            if (!unitFile && ["0600", "0400"].includes(f.mode ?? "0644") && (f.owner ?? "root:root").startsWith("root:")) continue;
            const shown = revealedSecret(f.content, generated)?.name ?? /@@secret:([a-z0-9-]+)@@/.exec(f.content)?.[1];
            if (!shown) continue;
            const spellings = generated.find((g) => g.name === shown) ? secretSpellings(generated.find((g) => g.name === shown)!.value) : [`@@secret:${shown}@@`];
            const line = f.content.split("\n").find((l) => spellings.some((v) => l.includes(v))) ?? "";
            const where = /^\s*Environment=/.test(line) ? "in an Environment= line, visible to systemctl show" : /^\s*Exec[A-Za-z]*=/.test(line) ? "on a command line, visible in ps" : `in a file of mode ${f.mode ?? "0644"} ${f.owner ?? "root:root"}`;
            ctx.report(`${f.path} (${f.from.name}) holds the generated secret ${shown} ${where}; pass it as a credential (LoadCredential=, a root-only 0600 file) instead.`, f.from);
        }
        for (const f of hostFiles(resources)) {
            if (/\/\.env(\.[a-z]+)?$/.test(f.path)) ctx.report(`${f.from.name} writes ${f.path}; secrets must not live in a .env file.`, f.from);
            if (/\/credentials\/[^/]+$/.test(f.path) && (f.mode !== "0600" || f.owner !== "root:root")) ctx.report(`${f.from.name} writes credential ${f.path} as ${f.owner ?? "?"} ${f.mode ?? "?"}; make it root:root 0600.`, f.from);
        }
    },
});

export const svc5 = unitPolicy({
    id: "SVC-5",
    slug: "production-mode",
    description: "Debug mode is off in prod: production mode variables set, nothing turns debugging on, log level INFO or quieter.",
    severity: "high",
    remediation: "Keep the production environment of lib/render/systemd.ts and remove any *_DEBUG=1/true or LOG_LEVEL=DEBUG.",
    problems: (u, prod) => (prod ? debugProblems(u) : []),
});

/** Variables that name the mode an app or framework runs in; each one set must say production. */
export const MODE_VARIABLES = ["APP_ENV", "NODE_ENV", "FLASK_ENV", "RAILS_ENV", "RACK_ENV", "DJANGO_ENV", "ENVIRONMENT"];

/** Variables that set a log level. */
const LOG_LEVEL_VARIABLES = ["LOG_LEVEL", "LOGLEVEL", "GUNICORN_LOG_LEVEL", "UVICORN_LOG_LEVEL"];

/**
 * Everything in a unit that turns debugging or a development mode on, whatever the framework: debug variables,
 * a mode variable other than production, a debug log level, and the flags of the command line (flask --debug,
 * gunicorn/uvicorn --reload and --log-level debug, node --inspect, python -X dev), also through GUNICORN_CMD_ARGS.
 */
export function debugProblems(unit: Unit): string[] {
    const env = unitEnvironment(unit);
    const p: string[] = [];
    for (const [k, v] of env) if (/(^|_)DEBUG$/.test(k) && /^(1|true|yes|on)$/i.test(v)) p.push(`${k}=${v} turns debugging on`);
    for (const k of LOG_LEVEL_VARIABLES) if (/^(debug|trace)$/i.test(env.get(k) ?? "")) p.push(`${k}=${env.get(k)}`);
    if (/^(1|true|yes|on)$/i.test(env.get("PYTHONDEVMODE") ?? "")) p.push("PYTHONDEVMODE turns Python's development mode on");
    for (const k of MODE_VARIABLES) if (env.has(k) && env.get(k)!.toLowerCase() !== "production") p.push(`${k}=${env.get(k)} is not production`);
    if (!["APP_ENV", "NODE_ENV", "FLASK_ENV"].some((k) => env.get(k) === "production")) p.push("no production mode variable (APP_ENV/NODE_ENV/FLASK_ENV=production)");
    const words = [...unitCommand(unit), ...unitWords(env.get("GUNICORN_CMD_ARGS") ?? "")];
    for (let i = 0; i < words.length; i++) {
        const w = words[i];
        if (/^--(debug|debugger)$/.test(w)) p.push(`the command line has ${w}`);
        else if (/^--reload(-|$)/.test(w)) p.push(`the command line has ${w} (auto-reload, a development mode)`);
        else if (/^--inspect(-brk)?(=|$)/.test(w)) p.push(`the command line opens the debugger (${w})`);
        else if (w === "-X" && words[i + 1] === "dev") p.push("the command line has -X dev (Python's development mode)");
        else if (/^--?log-?level$/.test(w) && /^(debug|trace)$/i.test(words[i + 1] ?? "")) p.push(`the command line has ${w} ${words[i + 1]}`);
        else if (/^--?log-?level=(debug|trace)$/i.test(w)) p.push(`the command line has ${w}`);
    }
    return p;
}

/**
 * How often a timer fires at most, in seconds: its OnUnitActiveSec/OnUnitInactiveSec, or a calendar expression
 * that fires every minute (`minutely`, `*:*:00`) or every hour; Infinity for anything else.
 */
export function timerPeriod(unit: Unit): number {
    const spans = ["OnUnitActiveSec", "OnUnitInactiveSec"].map((k) => systemdSeconds(unitValue(unit, "Timer", k) || undefined)).filter((v): v is number => v !== undefined && v > 0);
    const calendar = normalCalendar(unitValue(unit, "Timer", "OnCalendar") ?? "");
    if (calendar === "*-*-* *:*:00") spans.push(60);
    if (calendar === "*-*-* *:00:00") spans.push(3600);
    return spans.length ? Math.min(...spans) : Infinity;
}

export const svc6: ChecklistPolicy = stackPolicy({
    id: "SVC-6",
    slug: "health-check-timer",
    description: "A timer checks the app's health endpoint; a failure is logged and restarts the app.",
    severity: "medium",
    remediation: "Keep the AppService health check service, script and timer.",
    check: (resources, ctx) => {
        if (!hasHosts(resources)) return;
        const files = hostFiles(resources);
        const timers = files.filter((f) => f.path.endsWith(".timer") && /healthcheck/.test(f.path) && timerPeriod(parseUnit(f.content)) < Infinity);
        const scripts = files.filter((f) => /healthcheck$/.test(f.path) && /curl/.test(f.content) && /systemctl restart/.test(f.content));
        const at = firstStep(resources);
        if (at && (timers.length === 0 || scripts.length === 0)) ctx.missing(`no ${timers.length ? "health check script that restarts the app" : "health check timer"} is shipped; keep the AppService health check.`, at);
    },
});

/**
 * What a logrotate block does against LOG-1, read as logrotate does: the last of the directives that set one thing
 * wins (`daily` then `weekly` rotates weekly; `size` makes rotation by size; `nocompress` after `compress`), and
 * `maxage` deletes rotated logs older than its days whatever `rotate` keeps. Directives inside postrotate and
 * similar scripts are not directives.
 */
export function logrotateProblems(body: string, days: number): string[] {
    const lines = body.replace(/^\s*(postrotate|prerotate|firstaction|lastaction|preremove)\b[\s\S]*?^\s*endscript\s*$/gm, "").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
    const last = (re: RegExp) => lines.filter((l) => re.test(l)).slice(-1)[0];
    const problems: string[] = [];
    const frequency = last(/^(hourly|daily|weekly|monthly|yearly|size\b)/);
    if (frequency !== "daily") problems.push(`rotates ${frequency ? `by "${frequency}"` : "on logrotate.conf's default (weekly)"}, not daily`);
    const keep = Number(/^rotate\s+(-?\d+)/.exec(last(/^rotate\s/) ?? "")?.[1] ?? 0);
    if (keep >= 0 && keep < days) problems.push(`rotate ${keep} keeps less than ${days} days`);
    const maxAge = last(/^maxage\s/);
    if (maxAge && Number(maxAge.split(/\s+/)[1]) < days) problems.push(`${maxAge} deletes logs younger than ${days} days`);
    if (last(/^(no)?compress$/) !== "compress") problems.push("not compressed");
    const create = last(/^(no)?create\b|^copytruncate$/);
    if (!create || !/^create\s+0?640\s+\S+\s+\S+/.test(create)) problems.push(`${create ? `"${create}"` : "no create"} instead of create 0640 <app> <app>`);
    return problems;
}

export const log1: ChecklistPolicy = stackPolicy({
    id: "LOG-1",
    slug: "logrotate",
    description: "The app's logs rotate daily, kept >= 30 days (error logs >= 90; a maxage below that counts), compressed, created 0640 for the app user; the last of conflicting directives wins, as in logrotate.",
    severity: "medium",
    remediation: "Ship /etc/logrotate.d/<app> (lib/render/logrotate.ts).",
    check: (resources, ctx) => {
        const files = hostFiles(resources).filter((f) => f.path.startsWith("/etc/logrotate.d/"));
        if (files.length === 0 && hasHosts(resources)) {
            const at = firstStep(resources);
            if (at) ctx.missing("no logrotate configuration for the app is shipped; keep the AppService logrotate file.", at);
        }
        for (const f of files) {
            for (const block of f.content.matchAll(/^([^#\n{]+)\{([^}]*)\}/gm)) {
                const paths = block[1].trim();
                const body = block[2];
                const need = /error/.test(paths) ? 90 : 30;
                const problems = logrotateProblems(body, need);
                if (problems.length) ctx.report(`${f.path} (${f.from.name}) for ${paths}: ${problems.join(", ")}.`, f.from);
            }
        }
    },
});

/** The shipped fail2ban filters that read the app's SECURITY[LOGIN_FAILED|2FA_FAILED|LOCKOUT] lines. */
const appFilters = (files: readonly HostFile[]) => files.filter((f) => f.path.startsWith("/etc/fail2ban/filter.d/") && FAIL2BAN_EVENTS.every((e) => f.content.includes(e)));

/** The jails, as fail2ban reads them, that use an app filter. A filter may carry options (`webapp[mode=x]`); it defaults to the jail's name. */
export function appJails(files: readonly HostFile[]): [string, Map<string, Fail2banSetting>][] {
    const names = appFilters(files).map((f) => f.path.replace(/^.*\/|\.conf$/g, ""));
    return [...fail2banJails(files)].filter(([, j]) => names.includes((j.get("filter")?.value ?? "").replace(/\[.*$/, "").trim()));
}

export const log2: ChecklistPolicy = stackPolicy({
    id: "LOG-2",
    slug: "fail2ban-app-jail",
    description: "fail2ban has an app jail on the SECURITY[LOGIN_FAILED|2FA_FAILED|LOCKOUT] lines that, as fail2ban reads its jail files, is enabled with maxretry 5, findtime 600, bantime 3600 and bans the web ports.",
    severity: "medium",
    remediation: "Ship the app's fail2ban filter and jail (lib/render/fail2ban.ts).",
    check: (resources, ctx) => {
        if (!hasHosts(resources)) return;
        const files = hostFiles(resources);
        const filters = appFilters(files);
        const at = firstStep(resources);
        if (filters.length === 0) {
            if (at) ctx.missing("no fail2ban filter matches the app's SECURITY[LOGIN_FAILED|2FA_FAILED|LOCKOUT] lines; ship it.", at);
            return;
        }
        const names = filters.map((f) => f.path.replace(/^.*\/|\.conf$/g, ""));
        const jails = appJails(files);
        if (jails.length === 0 && at) ctx.missing(`no fail2ban jail uses the app filter ${names.join(", ")}; ship the app jail.`, at);
        for (const [name, j] of jails) {
            const problems = jailProblems(j, { port: 443, what: "nginx's" });
            const shipped = files.find((f) => /^\/etc\/fail2ban\/jail\./.test(f.path) || (f.path.startsWith("/etc/fail2ban/jail.d/") && f.content.includes(`[${name}]`)));
            const from = problems.find((p) => p.file)?.file?.from ?? shipped?.from ?? at;
            if (problems.length && from) ctx.report(`the fail2ban jail [${name}] has ${problems.map((p) => p.problem).join(", ")}; use enabled = true, maxretry 5, findtime 600, bantime 3600 and the web ports.`, from);
        }
    },
});

/** MON-1 thresholds. */
export const ALERT_LIMITS = { cpuPercent: 80, cpuMinutes: 5, memoryPercent: 90, diskPercent: 85, errorsPerMinute: 10 } as const;

export const mon1: ChecklistPolicy = stackPolicy({
    id: "MON-1",
    slug: "resource-alerts",
    description: "Resource alerts: CPU > 80 % for 5 minutes, memory > 90 %, disk > 85 %, app errors > 10/minute, checked every minute.",
    severity: "medium",
    remediation: "Keep the HostHardening monitoring step (lib/render/monitoring.ts) with thresholds no looser than these.",
    check: (resources, ctx) => {
        if (!hasHosts(resources)) return;
        const files = hostFiles(resources);
        const script = files.find((f) => /resource-alerts$/.test(f.path));
        const timer = files.find((f) => /resource-alerts\.timer$/.test(f.path));
        const at = script?.from ?? firstStep(resources);
        if (!script || !timer) {
            if (at) ctx.missing(`no resource alert ${script ? "timer" : "script"} is shipped; keep the HostHardening monitoring step.`, at);
            return;
        }
        const value = (name: string) => Number(new RegExp(`^${name}=(\\d+)`, "m").exec(script.content)?.[1] ?? NaN);
        const problems: string[] = [];
        if (!(value("CPU_PERCENT") <= ALERT_LIMITS.cpuPercent)) problems.push(`CPU_PERCENT ${value("CPU_PERCENT")} > ${ALERT_LIMITS.cpuPercent}`);
        if (!(value("CPU_MINUTES") <= ALERT_LIMITS.cpuMinutes)) problems.push(`CPU_MINUTES ${value("CPU_MINUTES")} > ${ALERT_LIMITS.cpuMinutes}`);
        if (!(value("MEMORY_PERCENT") <= ALERT_LIMITS.memoryPercent)) problems.push(`MEMORY_PERCENT ${value("MEMORY_PERCENT")} > ${ALERT_LIMITS.memoryPercent}`);
        if (!(value("DISK_PERCENT") <= ALERT_LIMITS.diskPercent)) problems.push(`DISK_PERCENT ${value("DISK_PERCENT")} > ${ALERT_LIMITS.diskPercent}`);
        if (!(value("ERRORS_PER_MINUTE") <= ALERT_LIMITS.errorsPerMinute)) problems.push(`ERRORS_PER_MINUTE ${value("ERRORS_PER_MINUTE")} > ${ALERT_LIMITS.errorsPerMinute}`);
        if (!(timerPeriod(parseUnit(timer.content)) <= 60)) problems.push("the timer does not run every minute");
        if (problems.length) ctx.report(`${script.path} (${script.from.name}): ${problems.join("; ")}.`, script.from);
    },
});

export const appPolicies = [svc1, svc2, svc3, svc4, svc5, svc6, log1, log2, mon1];
