/**
 * The database and its backups (DB-1..5, BK-1..8): RDS and S3 resources, and the PostgreSQL files, role SQL,
 * backup scripts and timers the remote steps ship.
 */
import { isWorldCidr } from "../lib/net";
import { inboundRules, isLocalOrPrivate } from "./network";
import { asList, HostFile, hostFiles, hostScripts, iamPatternMatches, parseHba, parseKeyValues, parseUnit, policyStatements, ResourceLike, systemdTrue, Unit, unitValue } from "./parse";
import { ChecklistPolicy, Context, firstStep, hasHosts, stackPolicy } from "./support";
import { BACKUP_STALE_HOURS } from "../lib/controls";

const rdsInstances = (resources: readonly ResourceLike[]) => resources.filter((r) => r.type === "aws:rds/instance:Instance");
const pgConfs = (resources: readonly ResourceLike[]) => hostFiles(resources).filter((f) => /^\/etc\/postgresql\/.*\.conf$/.test(f.path) && !f.path.endsWith("pg_hba.conf"));
/**
 * PostgreSQL's effective value of a setting: the files in the order the server reads them (postgresql.conf, then
 * its conf.d in file-name order, then postgresql.auto.conf from ALTER SYSTEM), the last assignment winning; names
 * are case-insensitive. Undefined when no shipped file sets it.
 */
function pgSetting(resources: readonly ResourceLike[], name: string): { value: string; file: HostFile } | undefined {
    const rank = (path: string) => (/\/postgresql\.conf$/.test(path) ? 0 : /\/postgresql\.auto\.conf$/.test(path) ? 2 : 1);
    const files = hostFiles(resources)
        .filter((f) => (/^\/etc\/postgresql\/.*\.conf$/.test(f.path) && !/pg_(hba|ident)\.conf$/.test(f.path)) || /\/postgresql\.auto\.conf$/.test(f.path))
        .sort((a, b) => rank(a.path) - rank(b.path) || (a.path < b.path ? -1 : 1));
    let found: { value: string; file: HostFile } | undefined;
    for (const f of files) {
        for (const [key, value] of parseKeyValues(f.content)) if (key.toLowerCase() === name) found = { value: value.toLowerCase(), file: f };
    }
    return found;
}

/** PostgreSQL's spellings of a boolean setting. */
const pgBoolean = (v: string) => (["on", "true", "yes", "1"].includes(v) ? true : ["off", "false", "no", "0"].includes(v) ? false : undefined);

const hbas = (resources: readonly ResourceLike[]) => hostFiles(resources).filter((f) => f.path.endsWith("/pg_hba.conf"));
/** A self-hosted database is present when a step ships PostgreSQL settings. */
const selfHosted = (resources: readonly ResourceLike[]) => pgConfs(resources).length > 0 || hbas(resources).length > 0;

export const db1: ChecklistPolicy = stackPolicy({
    id: "DB-1",
    slug: "database-not-public",
    description: "The database is not publicly accessible: RDS publiclyAccessible false, no firewall rule opening 5432 to the internet, PostgreSQL listening privately.",
    severity: "critical",
    remediation: "publiclyAccessible: false on RDS; 5432 only from the app servers; listen_addresses = 'localhost'.",
    check: (resources, ctx) => {
        for (const r of rdsInstances(resources)) if (r.props.publiclyAccessible !== false) ctx.report(`${r.name} is ${r.props.publiclyAccessible ? "" : "not explicitly kept "}publicly accessible; set publiclyAccessible: false.`, r);
        // Aurora: each cluster instance has its own switch (false unless set).
        for (const r of resources.filter((x) => x.type === "aws:rds/clusterInstance:ClusterInstance")) if (r.props.publiclyAccessible === true) ctx.report(`${r.name} is publicly accessible; set publiclyAccessible: false.`, r);
        for (const rule of inboundRules(resources)) {
            if (rule.from <= 5432 && 5432 <= rule.to && rule.sources.some(isWorldCidr)) ctx.report(`${rule.resource.name} opens 5432 to the internet; remove that rule.`, rule.resource);
        }
        const listen = pgSetting(resources, "listen_addresses");
        if (listen && listen.value.split(",").some((a) => !isLocalOrPrivate(a.trim()))) ctx.report(`${listen.file.path} (${listen.file.from.name}) sets listen_addresses = ${listen.value}, the value PostgreSQL ends up with; use localhost or private addresses.`, listen.file.from);
    },
});

export const db2: ChecklistPolicy = stackPolicy({
    id: "DB-2",
    slug: "database-tls",
    description: "Database connections use TLS: ssl = on and only hostssl rules for TCP clients (RDS: rds.force_ssl = 1).",
    severity: "high",
    remediation: "ssl = on in postgresql.conf, hostssl instead of host in pg_hba.conf; an RDS parameter group with rds.force_ssl = 1.",
    check: (resources, ctx) => {
        if (selfHosted(resources)) {
            const ssl = pgSetting(resources, "ssl");
            if (!ssl) ctx.missing("no PostgreSQL settings file turns ssl on; set ssl = on.", pgConfs(resources)[0]?.from ?? hbas(resources)[0].from);
            else if (pgBoolean(ssl.value) !== true) ctx.report(`${ssl.file.path} (${ssl.file.from.name}) sets ssl = ${ssl.value}, the value PostgreSQL ends up with; set ssl = on.`, ssl.file.from);
        }
        for (const f of hbas(resources)) {
            for (const rule of parseHba(f.content).filter((r) => r.type === "host" || r.type === "hostnossl" || r.type === "hostnogssenc")) {
                if (rule.method !== "reject") ctx.report(`${f.path} (${f.from.name}) lets ${rule.user}@${rule.database} from ${rule.address} in without TLS (${rule.type}); use hostssl.`, f.from);
            }
        }
        for (const r of rdsInstances(resources)) {
            const group = resources.find((p) => p.type === "aws:rds/parameterGroup:ParameterGroup" && (p.props.name === r.props.parameterGroupName || p.urn === r.props.parameterGroupName));
            const forced = ((group?.props.parameters ?? []) as { name: string; value: string }[]).some((p) => p.name === "rds.force_ssl" && p.value === "1");
            if (!forced) ctx.report(`${r.name} does not force TLS; attach a parameter group with rds.force_ssl = 1.`, r);
        }
    },
});

const ROLE_SQL = /\b(CREATE|ALTER) ROLE\b/;

/**
 * The SQL that creates or changes database roles, with the script that runs it and its step: SQL files a step
 * writes, and SQL inline in a step's script (a here-document to psql).
 */
const roleScripts = (resources: readonly ResourceLike[]): { sql: string; script: string; from: ResourceLike }[] => [
    ...hostFiles(resources).filter((f) => ROLE_SQL.test(f.content)).map((f) => ({ sql: f.content, script: f.script, from: f.from })),
    ...hostScripts(resources).filter(({ script }) => ROLE_SQL.test(script)).map(({ script, from }) => ({ sql: script, script, from })),
];

/** SQL with comments removed and upper-cased (keywords and unquoted names are case-insensitive in SQL). */
export function normalSql(sql: string): string {
    return sql.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, "").toUpperCase();
}

/** Roles whose membership gives superuser rights (SET ROLE) or the server's files, programs or every table. */
const PRIVILEGED_ROLES = ["POSTGRES", "PG_READ_SERVER_FILES", "PG_WRITE_SERVER_FILES", "PG_EXECUTE_SERVER_PROGRAM", "PG_READ_ALL_DATA", "PG_WRITE_ALL_DATA"];

const ROLE_ATTRIBUTES = ["SUPERUSER", "CREATEDB", "CREATEROLE", "REPLICATION", "BYPASSRLS"];

/**
 * Each role's attributes after every CREATE/ALTER ROLE (or USER) statement of some SQL, in order (a later one
 * changes what an earlier one set), including statements inside the literals that `\gexec` runs: `said` holds
 * the attributes some statement names (with or without NO), `final` their last value.
 */
export function roleAttributes(upper: string): Map<string, { said: Set<string>; final: Map<string, boolean> }> {
    const roles = new Map<string, { said: Set<string>; final: Map<string, boolean> }>();
    for (const chunk of upper.split(/;|\\GEXEC/)) {
        for (const m of chunk.matchAll(/\b(?:CREATE|ALTER)\s+(?:ROLE|USER)\s+("?[A-Z_][A-Z0-9_]*"?)([\s\S]*)/g)) {
            const role = m[1].replace(/"/g, "").toLowerCase();
            const state = roles.get(role) ?? { said: new Set<string>(), final: new Map<string, boolean>() };
            roles.set(role, state);
            for (const w of m[2].split(/[\s']+/)) {
                const attr = w.replace(/^NO/, "");
                if (!ROLE_ATTRIBUTES.includes(attr)) continue;
                state.said.add(attr);
                state.final.set(attr, !w.startsWith("NO"));
            }
        }
    }
    return roles;
}

/**
 * What the role SQL leaves that DB-3 forbids: a role attribute it turns on (or, run as the local postgres, one it
 * does not turn off explicitly), a privileged role granted, PUBLIC's grants kept or given.
 */
export function roleSqlProblems(sql: string, byRemoteAdmin: boolean): string[] {
    const problems: string[] = [];
    const required = byRemoteAdmin ? ["CREATEDB", "CREATEROLE"] : ["SUPERUSER", "CREATEDB", "CREATEROLE"];
    const upper = normalSql(sql);
    for (const [role, attrs] of roleAttributes(upper)) {
        for (const attr of required) if (!attrs.said.has(attr)) problems.push(`role ${role} lacks NO${attr}`);
        for (const [attr, on] of attrs.final) if (on) problems.push(`role ${role} ends up with ${attr}`);
    }
    for (const m of upper.matchAll(/\bGRANT\s+((?:"?[A-Z_][A-Z0-9_]*"?\s*,\s*)*"?[A-Z_][A-Z0-9_]*"?)\s+TO\s+([^;]+)/g)) {
        const roles = m[1].split(",").map((r) => r.trim().replace(/"/g, ""));
        for (const r of roles.filter((r) => PRIVILEGED_ROLES.includes(r))) problems.push(`${r.toLowerCase()} is granted to ${m[2].trim().toLowerCase()}, which gives ${r === "POSTGRES" ? "superuser rights through SET ROLE" : "access to the server's files, programs or every table"}`);
    }
    if (!/REVOKE ALL ON DATABASE \S+ FROM PUBLIC/.test(upper)) problems.push("PUBLIC keeps its grants on the app database");
    if (!/REVOKE ALL ON SCHEMA PUBLIC FROM PUBLIC/.test(upper)) problems.push("PUBLIC keeps its grants on the public schema");
    if (/GRANT [^;]* TO PUBLIC/.test(upper)) problems.push("something is granted to PUBLIC");
    return problems;
}

export const db3: ChecklistPolicy = stackPolicy({
    id: "DB-3",
    slug: "app-role-least-privilege",
    description: "The app's database role is not a superuser, cannot create roles or databases, is given no superuser or server-file role, and PUBLIC has no grants on its database; judged on the attributes the role SQL leaves, in any case and statement order.",
    severity: "high",
    remediation: "Keep the role SQL of lib/render/postgres.ts renderRoleSql.",
    check: (resources, ctx) => {
        const scripts = roleScripts(resources);
        if ((selfHosted(resources) || rdsInstances(resources).length) && scripts.length === 0) {
            const at = firstStep(resources) ?? rdsInstances(resources)[0];
            if (at) ctx.missing("no step creates the app's database role; keep the Database role step.", at);
        }
        for (const { sql, script, from } of scripts) {
            // Run over TCP by a non-superuser admin (the RDS master user), the SQL cannot name SUPERUSER at all, and
            // PostgreSQL gives roles that admin creates no superuser rights; as the local postgres it must say NOSUPERUSER.
            const byRemoteAdmin = /\bpsql\b[^\n]*(['"]host=[^'"\n]*\buser=\S+|\bservice=\S+)/.test(script) && !/\b(runuser|sudo) -u postgres\b/.test(script);
            const problems = roleSqlProblems(sql, byRemoteAdmin);
            if (problems.length) ctx.report(`${from.name}: ${problems.join("; ")}.`, from);
        }
    },
});

export const db4: ChecklistPolicy = stackPolicy({
    id: "DB-4",
    slug: "scram-no-trust",
    description: "password_encryption = scram-sha-256; pg_hba has no trust (or md5/password) rules, peer only for the local postgres user.",
    severity: "high",
    remediation: "password_encryption = 'scram-sha-256'; scram-sha-256 for the app, peer only for local postgres.",
    check: (resources, ctx) => {
        const enc = pgSetting(resources, "password_encryption");
        if (enc && enc.value !== "scram-sha-256") ctx.report(`${enc.file.path} (${enc.file.from.name}) sets password_encryption = ${enc.value}, the value PostgreSQL ends up with; use scram-sha-256.`, enc.file.from);
        for (const f of hbas(resources)) {
            for (const r of parseHba(f.content)) {
                const ok = r.method === "scram-sha-256" || r.method === "reject" || r.method === "cert" || (r.method === "peer" && r.type === "local" && r.user === "postgres");
                if (!ok) ctx.report(`${f.path} (${f.from.name}) has a ${r.method} rule for ${r.user}@${r.database} (${r.type}); use scram-sha-256 (peer only for local postgres).`, f.from);
            }
        }
    },
});

export const db5: ChecklistPolicy = stackPolicy({
    id: "DB-5",
    slug: "rds-protections",
    description: "RDS (an instance, or an Aurora cluster and its instances): storage encrypted, backup retention >= 7 days, deletion protection in prod, automatic minor upgrades.",
    severity: "high",
    remediation: "storageEncrypted: true, backupRetentionPeriod >= 7, deletionProtection: true (prod), autoMinorVersionUpgrade: true.",
    check: (resources, ctx) => {
        for (const r of rdsInstances(resources)) {
            const p: string[] = [];
            if (r.props.storageEncrypted !== true) p.push("storage is not encrypted");
            if (!(Number(r.props.backupRetentionPeriod) >= 7)) p.push(`backup retention is ${r.props.backupRetentionPeriod ?? 1} days`);
            if (ctx.prod && r.props.deletionProtection !== true) p.push("deletion protection is off");
            if (r.props.autoMinorVersionUpgrade === false) p.push("automatic minor upgrades are off");
            if (p.length) ctx.report(`${r.name}: ${p.join("; ")}. Fix the Database component's RDS settings.`, r);
        }
        // Aurora keeps storage, backups and deletion protection on the cluster, minor upgrades on its instances.
        for (const r of resources.filter((x) => x.type === "aws:rds/cluster:Cluster")) {
            const p: string[] = [];
            if (r.props.storageEncrypted !== true) p.push("storage is not encrypted");
            if (!(Number(r.props.backupRetentionPeriod ?? 1) >= 7)) p.push(`backup retention is ${r.props.backupRetentionPeriod ?? 1} days`);
            if (ctx.prod && r.props.deletionProtection !== true) p.push("deletion protection is off");
            if (p.length) ctx.report(`${r.name}: ${p.join("; ")}. Set storageEncrypted, backupRetentionPeriod >= 7 and deletionProtection on the cluster.`, r);
        }
        for (const r of resources.filter((x) => x.type === "aws:rds/clusterInstance:ClusterInstance")) if (r.props.autoMinorVersionUpgrade === false) ctx.report(`${r.name}: automatic minor upgrades are off; set autoMinorVersionUpgrade: true.`, r);
    },
});

/** Backup scripts shipped to hosts (the ones with tiers). */
const backupScripts = (resources: readonly ResourceLike[]) => hostFiles(resources).filter((f) => /\/backup$/.test(f.path) && /daily\)/.test(f.content));
/** Timers with the unit each activates: Unit=, or the service of the same name (systemd.timer(5)). */
const timersOf = (resources: readonly ResourceLike[]) =>
    hostFiles(resources)
        .filter((f) => f.path.endsWith(".timer"))
        .map((f) => {
            const unit = parseUnit(f.content);
            return { f, unit, activates: unitValue(unit, "Timer", "Unit") || f.path.replace(/^.*\//, "").replace(/\.timer$/, ".service") };
        });

/** Backups are expected where a database lives on a host; RDS keeps its own. */
function needsBackups(resources: readonly ResourceLike[], ctx: Context): HostFile[] | undefined {
    const scripts = backupScripts(resources);
    if (scripts.length === 0 && hasHosts(resources)) {
        const at = firstStep(resources);
        if (at && (selfHosted(resources) || hostScripts(resources).some(({ script }) => /sqlite/i.test(script)) || rdsInstances(resources).length === 0)) ctx.missing("no backup job is shipped to the database host; keep the Backups component.", at);
        return undefined;
    }
    return scripts;
}

const WEEKDAYS: Record<string, string> = { mon: "Mon", monday: "Mon", tue: "Tue", tuesday: "Tue", wed: "Wed", wednesday: "Wed", thu: "Thu", thursday: "Thu", fri: "Fri", friday: "Fri", sat: "Sat", saturday: "Sat", sun: "Sun", sunday: "Sun" };

/**
 * A systemd calendar expression in the normal form `systemd-analyze calendar` prints, for the shapes a backup
 * schedule takes: the shorthands (`daily`, `weekly`, ...), a time alone (`02:00`), a weekday with a time
 * (`Sun 03:00`), a full `*-*-* 02:00:00`. Other shapes come back as written (and match no fixed daily or
 * weekly time).
 */
export function normalCalendar(expression: string): string {
    const short: Record<string, string> = { minutely: "*-*-* *:*:00", hourly: "*-*-* *:00:00", daily: "*-*-* 00:00:00", weekly: "Mon *-*-* 00:00:00", monthly: "*-*-01 00:00:00", yearly: "*-01-01 00:00:00", annually: "*-01-01 00:00:00" };
    const e = expression.trim().replace(/\s+/g, " ");
    if (short[e.toLowerCase()]) return short[e.toLowerCase()];
    const m = /^(?:([A-Za-z]+) )?(?:(\*-\*-\*) )?(\d{1,2}|\*):(\d{1,2}|\*)(?::(\d{1,2}|\*))?$/.exec(e);
    if (!m) return e;
    const day = m[1] ? WEEKDAYS[m[1].toLowerCase()] : undefined;
    if (m[1] && !day) return e;
    const pad = (v: string) => (v === "*" ? v : v.padStart(2, "0"));
    const time = `${pad(m[3])}:${pad(m[4])}:${pad(m[5] ?? "00")}`;
    return `${day ? `${day} ` : ""}*-*-* ${time}`;
}

export const bk1: ChecklistPolicy = stackPolicy({
    id: "BK-1",
    slug: "backup-timers",
    description: "A daily backup at a fixed hour (default 02:00) and a weekly one (default Sunday 03:00), as systemd timers with Persistent=true, in any calendar spelling systemd reads the same way (daily, 02:00, Sun 03:00).",
    severity: "high",
    remediation: "Keep the Backups timers (lib/render/backup.ts renderBackupUnits).",
    check: (resources, ctx) => {
        const scripts = needsBackups(resources, ctx);
        if (!scripts) return;
        const backups = timersOf(resources).filter(({ activates }) => /backup@/.test(activates));
        const calendar = (unit: Unit) => normalCalendar(unitValue(unit, "Timer", "OnCalendar") ?? "");
        const daily = backups.find(({ unit }) => /^\*-\*-\* \d\d:\d\d:\d\d$/.test(calendar(unit)));
        const weekly = backups.find(({ unit }) => /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \*-\*-\* \d\d:\d\d:\d\d$/.test(calendar(unit)));
        // Missing timers are the backup script's step's to ship.
        const at = backups[0]?.f.from ?? scripts[0].from;
        if (!daily) ctx.missing("no daily backup timer at a fixed hour; add OnCalendar=*-*-* 02:00:00.", at);
        if (!weekly) ctx.missing("no weekly backup timer; add OnCalendar=Sun *-*-* 03:00:00.", at);
        for (const { f, unit } of backups) if (!systemdTrue(unitValue(unit, "Timer", "Persistent"))) ctx.report(`${f.path} is not Persistent=true, so a backup missed while the server was off never runs; set Persistent=true.`, f.from);
    },
});

type LifecycleRule = { id?: string; status?: string; prefix?: string; filter?: { prefix?: string; and?: { prefix?: string } }; expiration?: { days?: number } };

/** The key prefix a lifecycle rule applies to, in any of its forms (filter.prefix, filter.and.prefix, the old rule-level prefix); "" for every object. */
const rulePrefix = (rule: LifecycleRule) => rule.filter?.prefix ?? rule.filter?.and?.prefix ?? rule.prefix ?? "";

export const bk2: ChecklistPolicy = stackPolicy({
    id: "BK-2",
    slug: "backup-retention",
    description: "Backups are kept: daily >= 30 days, weekly >= 90 days, uploads >= 7 days, locally and off-site (RDS: >= 30 days).",
    severity: "medium",
    remediation: "webapp:backupRetentionDailyDays >= 30, backupRetentionWeeklyDays >= 90, uploadsRetentionDays >= 7.",
    check: (resources, ctx) => {
        for (const f of backupScripts(resources)) {
            const daily = Number(/daily\) keep_days=(\d+)/.exec(f.content)?.[1] ?? 0);
            const weekly = Number(/weekly\) keep_days=(\d+)/.exec(f.content)?.[1] ?? 0);
            if (daily < 30) ctx.report(`${f.path} (${f.from.name}) keeps daily backups ${daily} days; keep them >= 30 (webapp:backupRetentionDailyDays).`, f.from);
            if (weekly < 90) ctx.report(`${f.path} (${f.from.name}) keeps weekly backups ${weekly} days; keep them >= 90 (webapp:backupRetentionWeeklyDays).`, f.from);
        }
        for (const f of hostFiles(resources).filter((f) => /\/backup-uploads$/.test(f.path))) {
            const minutes = Number(/-mmin \+(\d+)/.exec(f.content)?.[1] ?? 0);
            if (minutes < 7 * 1440) ctx.report(`${f.path} (${f.from.name}) keeps uploads backups ${minutes / 1440} days; keep them >= 7 (webapp:uploadsRetentionDays).`, f.from);
        }
        for (const r of resources.filter((r) => r.type === "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")) {
            // Every enabled rule whose prefix overlaps a tier's expires some of its copies: the shortest one decides.
            const rules = ((r.props.rules ?? []) as LifecycleRule[]).filter((rule) => rule.status !== "Disabled");
            const tiers = new Map(rules.flatMap((rule) => {
                const tier = /(daily|weekly|uploads)\/$/.exec(rulePrefix(rule))?.[1];
                return tier ? [[tier, rulePrefix(rule)] as const] : [];
            }));
            for (const [tier, prefix] of tiers) {
                const need = tier === "daily" ? 30 : tier === "weekly" ? 90 : 7;
                for (const rule of rules) {
                    const q = rulePrefix(rule);
                    const days = rule.expiration?.days;
                    if (days === undefined || !(prefix.startsWith(q) || q.startsWith(prefix)) || days >= need) continue;
                    ctx.report(`${r.name} expires ${tier} copies after ${days} days${q === prefix ? "" : ` (rule ${rule.id ?? "?"}, prefix ${JSON.stringify(q)}, overlaps them)`}; keep them >= ${need}.`, r);
                }
            }
        }
        for (const r of rdsInstances(resources)) if (Number(r.props.backupRetentionPeriod ?? 1) < 30) ctx.report(`${r.name} keeps automated backups ${r.props.backupRetentionPeriod ?? 1} days; keep them >= 30 (RDS allows up to 35).`, r);
    },
});

/**
 * The shell options a bash script runs its commands with after its top-level `set` lines (and the shebang's
 * flags), in order: `set -euo pipefail`, `set -e -u -o pipefail`, `set -o errexit`, and `set +e` or `set +o
 * pipefail` switching them off again.
 */
export function shellOptions(script: string): { errexit: boolean; nounset: boolean; pipefail: boolean } {
    const state = { errexit: false, nounset: false, pipefail: false };
    const letters: Record<string, keyof typeof state> = { e: "errexit", u: "nounset" };
    const lines = script.split("\n");
    const shebang = /^#!\S+(?:\s+(-\w+))?/.exec(lines[0] ?? "")?.[1] ?? "";
    for (const l of shebang.slice(1)) if (letters[l]) state[letters[l]] = true;
    for (const raw of lines) {
        const m = /^set\s+(.*)$/.exec(raw.replace(/(^|\s)#.*$/, "").trim());
        if (!m) continue;
        const words = m[1].split(/\s+/);
        for (let i = 0; i < words.length; i++) {
            const w = words[i];
            const on = w.startsWith("-");
            if (!/^[-+]/.test(w)) continue;
            const flags = w.slice(1);
            for (const f of flags.replace("o", "")) if (letters[f]) state[letters[f]] = on;
            if (flags.includes("o")) {
                const name = words[++i];
                if (name === "pipefail" || name === "errexit" || name === "nounset") state[name] = on;
            }
        }
    }
    return state;
}

/** The pg_dump command lines of a script. */
const pgDumpLines = (script: string) => script.split("\n").filter((l) => /(^|[\s;&|(])pg_dump\s/.test(l.replace(/(^|\s)#.*$/, "")));

/**
 * Whether a pg_dump line writes compressed output: -Z/--compress other than 0 or none; without it, the custom and
 * directory formats (compressed by default) or output piped to gzip, zstd, xz or bzip2.
 */
export function pgDumpCompresses(line: string): boolean {
    const words = line.split(/\s+/);
    const value = (short: string, long: string) => {
        const i = words.findIndex((w) => w === short || w === long || w.startsWith(`${long}=`) || (w.startsWith(short) && w.length > short.length));
        if (i < 0) return undefined;
        const w = words[i];
        return w.startsWith(`${long}=`) ? w.slice(long.length + 1) : w === short || w === long ? words[i + 1] : w.slice(short.length);
    };
    const compress = value("-Z", "--compress");
    if (compress !== undefined) return !/^(0|none)(:|$)/.test(compress.replace(/^['"]|['"]$/g, ""));
    const format = (value("-F", "--format") ?? "plain").replace(/^['"]|['"]$/g, "");
    return /^(c|custom|d|directory)$/.test(format) || /\|\s*(gzip|zstd|xz|bzip2|pigz)\b/.test(line);
}

export const bk3: ChecklistPolicy = stackPolicy({
    id: "BK-3",
    slug: "backup-verified",
    description: "Each backup is verified after writing (pg_restore --list, PRAGMA integrity_check, gzip -t) and the job fails loudly on any error.",
    severity: "high",
    remediation: "Keep the verification and `set -euo pipefail`/fail() of lib/render/backup.ts.",
    check: (resources, ctx) => {
        for (const f of needsBackups(resources, ctx) ?? []) {
            const p: string[] = [];
            if (!/pg_restore --list|PRAGMA integrity_check|gzip -t/.test(f.content)) p.push("nothing verifies the written backup");
            const opts = shellOptions(f.content);
            const off = (["errexit", "nounset", "pipefail"] as const).filter((o) => !opts[o]);
            if (off.length) p.push(`errors do not stop the job (${off.join(", ")} off at the end of the script; set -euo pipefail and no set +e)`);
            if (!/exit 1/.test(f.content)) p.push("failures do not exit non-zero");
            if (p.length) ctx.report(`${f.path} (${f.from.name}): ${p.join("; ")}.`, f.from);
        }
    },
});

export const bk4: ChecklistPolicy = stackPolicy({
    id: "BK-4",
    slug: "backup-compressed-atomic",
    description: "Backups are compressed and written atomically: a temporary name, renamed only when complete and verified.",
    severity: "medium",
    remediation: "Write to a mktemp'd partial file and mv it into place after verification (lib/render/backup.ts).",
    check: (resources, ctx) => {
        for (const f of needsBackups(resources, ctx) ?? []) {
            const p: string[] = [];
            const uncompressed = pgDumpLines(f.content).filter((l) => !pgDumpCompresses(l));
            if (uncompressed.length || pgDumpLines(f.content).length === 0) p.push(`the backup is not compressed${uncompressed.length ? ` (${uncompressed[0].trim()})` : ""}`);
            if (!/mktemp [^\n]*partial/.test(f.content) || !/mv "\$tmp" "\$dir\/\$name"/.test(f.content)) p.push("the backup is not written under a temporary name and renamed");
            if (p.length) ctx.report(`${f.path} (${f.from.name}): ${p.join("; ")}.`, f.from);
        }
    },
});

export const bk5: ChecklistPolicy = stackPolicy({
    id: "BK-5",
    slug: "offsite-backups-in-prod",
    description: "In prod every backup is copied off-site to S3.",
    severity: "high",
    remediation: "Set webapp:offsiteBackup true in the prod stack.",
    check: (resources, ctx) => {
        if (!ctx.prod) return;
        const buckets = resources.filter((r) => r.type === "aws:s3/bucket:Bucket" || r.type === "aws:s3/bucketV2:BucketV2");
        for (const f of backupScripts(resources)) {
            if (!/\bs3 (cp|sync|mv)\b|\bs3api put-object\b|\brclone (copy|sync)\b/.test(f.content)) ctx.report(`${f.path} (${f.from.name}) keeps backups on the server only; set webapp:offsiteBackup true.`, f.from);
        }
        if (backupScripts(resources).length && buckets.length === 0) ctx.report("prod has no off-site bucket for its backups; set webapp:offsiteBackup true.", backupScripts(resources)[0].from);
    },
});

/** Buckets and the resources that configure them (matched by the bucket name they reference). */
function bucketParts(resources: readonly ResourceLike[]) {
    return resources
        .filter((r) => r.type === "aws:s3/bucket:Bucket")
        .map((bucket) => {
            const id = bucket.props.bucket ?? bucket.name;
            const of = (type: string) => resources.filter((r) => r.type === type && r.props.bucket === id);
            return {
                bucket,
                id,
                publicAccess: of("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"),
                encryption: of("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"),
                versioning: of("aws:s3/bucketVersioning:BucketVersioning"),
                policy: of("aws:s3/bucketPolicy:BucketPolicy"),
                lifecycle: of("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"),
            };
        });
}

/**
 * Whether a bucket policy statement refuses every request without TLS, as IAM evaluates it: Deny, for every
 * principal, for every S3 action (no NotAction), on the bucket and its objects, when aws:SecureTransport is false
 * (Bool or BoolIfExists; condition keys are case-insensitive, the value a string or a boolean).
 */
export function deniesPlainHttp(s: Record<string, any>, bucketArn: string): boolean {
    if (s.Effect !== "Deny" || s.NotAction !== undefined || s.NotResource !== undefined || s.NotPrincipal !== undefined) return false;
    const principals = s.Principal === "*" ? ["*"] : asList(s.Principal?.AWS);
    if (!principals.includes("*")) return false;
    if (!asList(s.Action).some((a) => iamPatternMatches(a, "s3:PutObject") && iamPatternMatches(a, "s3:GetObject") && iamPatternMatches(a, "s3:DeleteObject") && iamPatternMatches(a, "s3:ListBucket"))) return false;
    if (![bucketArn, `${bucketArn}/backups/x`].every((target) => asList(s.Resource).some((res) => iamPatternMatches(res, target)))) return false;
    return Object.entries((s.Condition ?? {}) as Record<string, Record<string, unknown>>).some(
        ([operator, keys]) => /^Bool(IfExists)?$/i.test(operator) && Object.entries(keys ?? {}).some(([key, value]) => key.toLowerCase() === "aws:securetransport" && asList(value).some((v) => v.toLowerCase() === "false")),
    );
}

export const bk6: ChecklistPolicy = stackPolicy({
    id: "BK-6",
    slug: "offsite-bucket-protections",
    description: "The off-site bucket blocks all public access, is encrypted and versioned, refuses non-TLS requests, expires objects by lifecycle, and its writer can only put objects under the backup prefix.",
    severity: "critical",
    remediation: "Use the OffsiteBucket component: public access block (all four), SSE, versioning, TLS-only bucket policy, lifecycle rules, a PutObject-only writer.",
    check: (resources, ctx) => {
        for (const b of bucketParts(resources)) {
            const p: string[] = [];
            const pab = b.publicAccess[0]?.props ?? {};
            const open = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"].filter((k) => pab[k] !== true);
            if (open.length) p.push(`public access is not fully blocked (${open.join(", ")})`);
            if (!b.encryption.some((e) => (e.props.rules ?? []).some((r: any) => r.applyServerSideEncryptionByDefault?.sseAlgorithm))) p.push("no server-side encryption");
            if (!b.versioning.some((v) => v.props.versioningConfiguration?.status === "Enabled")) p.push("versioning is not enabled");
            const tlsOnly = b.policy.some((pol) => policyStatements(pol.props.policy).some((s) => deniesPlainHttp(s, `arn:aws:s3:::${b.id}`)));
            if (!tlsOnly) p.push("no bucket policy denies requests without TLS");
            if (!b.lifecycle.some((l) => (l.props.rules ?? []).some((r: any) => r.status === "Enabled" && r.expiration?.days))) p.push("no lifecycle rule expires old backups");
            if (b.bucket.props.acl && /public/.test(b.bucket.props.acl)) p.push(`its ACL is ${b.bucket.props.acl}`);
            if (p.length) ctx.report(`bucket ${b.id}: ${p.join("; ")}. Use the OffsiteBucket component's settings.`, b.bucket);
        }
        const bucketArns = bucketParts(resources).map((b) => `arn:aws:s3:::${b.id}`);
        for (const r of resources.filter((r) => ["aws:iam/userPolicy:UserPolicy", "aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy"].includes(r.type))) {
            for (const s of policyStatements(r.props.policy).filter((s) => s.Effect === "Allow" && asList(s.Resource).some((res) => bucketArns.some((a) => res.startsWith(a)) || res === "*"))) {
                if (s.NotAction !== undefined) {
                    ctx.report(`${r.name} lets the backup writer do everything but ${asList(s.NotAction).join(", ")} (NotAction); allow only s3:PutObject under the backup prefix.`, r);
                    continue;
                }
                const actions = asList(s.Action);
                if (!actions.some((a) => a.startsWith("s3:") || a === "*")) continue;
                const wide = actions.filter((a) => !["s3:PutObject", "s3:AbortMultipartUpload"].includes(a));
                const anywhere = asList(s.Resource).filter((res) => res === "*" || bucketArns.includes(res) || /:::[^/]+\/\*$/.test(res));
                if (wide.length || anywhere.length) ctx.report(`${r.name} lets the backup writer ${wide.length ? `do ${wide.join(", ")}` : ""}${wide.length && anywhere.length ? " and " : ""}${anywhere.length ? `write to ${anywhere.join(", ")}` : ""}; allow only s3:PutObject under the backup prefix.`, r);
            }
        }
        // Managed policies attached to a backup writer add what its inline policy does not say.
        const writers = new Set(resources.filter((r) => r.type === "aws:iam/userPolicy:UserPolicy" && policyStatements(r.props.policy).some((s) => asList(s.Resource).some((res) => bucketArns.some((a) => res.startsWith(a))))).map((r) => String(r.props.user)));
        for (const a of resources.filter((r) => r.type === "aws:iam/userPolicyAttachment:UserPolicyAttachment" && writers.has(String(r.props.user)))) {
            ctx.report(`${a.name} attaches ${a.props.policyArn} to the backup writer ${a.props.user}; it may only put objects under the backup prefix, so attach nothing.`, a);
        }
        for (const g of resources.filter((r) => r.type === "aws:iam/userGroupMembership:UserGroupMembership" && writers.has(String(r.props.user)))) {
            ctx.report(`${g.name} puts the backup writer ${g.props.user} in groups ${asList(g.props.groups).join(", ")}, whose policies it gets; keep it in none.`, g);
        }
    },
});

export const bk7: ChecklistPolicy = stackPolicy({
    id: "BK-7",
    slug: "restore-drill",
    description: "Restore is scripted, and a scheduled drill restores the newest backup into a scratch database and checks it.",
    severity: "high",
    remediation: "Keep the Backups restore and restore-drill scripts and the drill timer.",
    check: (resources, ctx) => {
        if (!needsBackups(resources, ctx) && rdsInstances(resources).length === 0) return;
        const files = hostFiles(resources);
        const at = firstStep(resources) ?? rdsInstances(resources)[0];
        if (!at) return;
        if (!files.some((f) => /\/restore$/.test(f.path))) ctx.missing("no restore script is shipped; keep the Backups restore script.", at);
        const drill = files.find((f) => /\/restore-drill$/.test(f.path));
        const timer = timersOf(resources).find(({ activates }) => /restore-drill/.test(activates));
        if (!drill || !timer) ctx.missing(`no scheduled restore drill (${drill ? "timer" : "script"} missing); keep the Backups restore drill.`, at);
    },
});

/**
 * The age in seconds above which the stale check fails: the number its `[ "$age" -gt N ]` (or -ge) compares with,
 * written as a number or shell arithmetic of numbers (`$((24 * 3600))`, say). Infinity when there is none.
 */
export function staleLimit(script: string): number {
    const m = /\[\s+"?\$\{?age\}?"?\s+-(gt|ge)\s+("?)(\d+|\$\(\(\s*[\d\s*+]+\)\))\2\s+\]/.exec(script);
    if (!m) return Infinity;
    const expr = m[3].replace(/^\$\(\(|\)\)$/g, "");
    const value = expr.split("+").reduce((sum, term) => sum + term.split("*").reduce((p, f) => p * Number(f.trim()), 1), 0);
    return m[1] === "ge" ? value - 1 : value;
}

export const bk8: ChecklistPolicy = stackPolicy({
    id: "BK-8",
    slug: "stale-backup-check",
    description: `A scheduled check fails when the newest backup is older than ${BACKUP_STALE_HOURS} hours.`,
    severity: "medium",
    remediation: `Keep the Backups stale check (staleAfterHours <= ${BACKUP_STALE_HOURS}) and its timer.`,
    check: (resources, ctx) => {
        if (!needsBackups(resources, ctx) && rdsInstances(resources).length === 0) return;
        const at = firstStep(resources) ?? rdsInstances(resources)[0];
        const check = hostFiles(resources).find((f) => /\/backup-stale-check$/.test(f.path));
        const timer = timersOf(resources).find(({ activates }) => /stale-check/.test(activates));
        if (!check || !timer) {
            if (at) ctx.missing(`no scheduled stale-backup check (${check ? "timer" : "script"} missing); keep the Backups stale check.`, at);
            return;
        }
        const limit = staleLimit(check.content);
        if (limit > BACKUP_STALE_HOURS * 3600) ctx.report(`${check.path} (${check.from.name}) accepts backups ${limit / 3600} hours old; fail after ${BACKUP_STALE_HOURS} hours.`, check.from);
    },
});

export const dataPolicies = [db1, db2, db3, db4, db5, bk1, bk2, bk3, bk4, bk5, bk6, bk7, bk8];
