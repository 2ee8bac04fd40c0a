/**
 * docs/app-contract.md: what the app gets from the server and what the server expects of the app. The tables are
 * read from the program itself: the app's systemd unit as the service step ships it (its `Environment=` and
 * `LoadCredential=` lines), in three setups, and the fail2ban filter it installs; the prose around them says how
 * to use them. `npm run docs` writes it (each setup runs the program offline in its own process, as the plan
 * does); tests/docs.test.ts fails when it is stale.
 *
 * As a program: `ts-node scripts/app-contract.ts --facts <stack> '<overrides as JSON>'` prints one setup's facts.
 */
import markdownTable from "markdown-table";
import { parseApplyScript, scriptOfCommand } from "../lib/render/apply-script";
import { FAIL2BAN_EVENTS, renderAppFilter } from "../lib/render/fail2ban";
import { DEFAULT_LOG_FILES } from "../lib/render/logrotate";
import { SECRET_SPECS } from "../lib/secret-specs";
import type { PlanRun } from "../plan/run";

/** One setup whose unit the contract shows. */
export type Setup = { label: string; stack: string; overrides: Record<string, string> };

export const SETUPS: readonly Setup[] = [
    { label: "PostgreSQL on the server", stack: "prod", overrides: {} },
    { label: "RDS (provider aws)", stack: "prod", overrides: { "webapp:provider": "aws", "webapp:databaseEngine": "rds" } },
    { label: "SQLite", stack: "staging", overrides: { "webapp:databaseEngine": "sqlite" } },
];

export type Facts = { environment: Record<string, string>; credentials: string[]; workingDirectory: string; execStart: string; unitPath: string };

/** The app unit the service step of the first server ships, read from the step's script. */
export function contractFacts(run: PlanRun): Facts {
    const step = run.resources.find((r) => r.name === "service-0-service");
    if (!step) throw new Error("the program registered no service-0-service step");
    const script = scriptOfCommand(String(step.inputs.create));
    const unit = parseApplyScript(script ?? "").find((f) => f.path.startsWith("/etc/systemd/system/") && f.path.endsWith(".service") && /\nExecStart=/.test(f.content));
    if (!unit) throw new Error("the service step ships no app unit");
    const lines = unit.content.split("\n");
    const value = (key: string) => lines.find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1) ?? "";
    const environment = Object.fromEntries(lines.filter((l) => l.startsWith("Environment=")).map((l) => /^Environment="([^=]+)=(.*)"$/.exec(l)!.slice(1, 3) as [string, string]));
    const credentials = lines.filter((l) => l.startsWith("LoadCredential=")).map((l) => l.slice("LoadCredential=".length).split(":")[0]);
    return { environment, credentials, workingDirectory: value("WorkingDirectory"), execStart: value("ExecStart"), unitPath: unit.path };
}

const CREDENTIAL_MEANING: Record<string, string> = {
    ...Object.fromEntries(SECRET_SPECS.map((s) => [s.id, s.description])),
    "encryption-key-previous": "The encryption key before the last rotation: decrypt with either, encrypt with encryption-key",
    "aws-access-key-id": "Access key of the app's IAM user (secrets in AWS Secrets Manager on a non-AWS server); on EC2 the instance profile is used instead",
    "aws-secret-access-key": "Secret of that access key",
};

const ENVIRONMENT_MEANING: Record<string, string> = {
    PORT: "The port to listen on",
    BIND: "The address to listen on: always 127.0.0.1 (NET-4); nginx is the only client",
    APP_ENV: "Production mode, whatever the framework (SVC-5)",
    NODE_ENV: "Production mode for Node.js",
    FLASK_ENV: "Production mode for Flask",
    FLASK_DEBUG: "Debugger off",
    DJANGO_DEBUG: "Debugger off",
    LOG_LEVEL: "Log level",
    DATABASE_ENGINE: "`postgresql` or `sqlite`",
    DATABASE_HOST: "PostgreSQL's socket directory, or the RDS endpoint",
    DATABASE_PORT: "PostgreSQL's port",
    DATABASE_NAME: "The app's database",
    DATABASE_USER: "The app's role (its password is the db-password credential)",
    DATABASE_SSLMODE: "libpq sslmode: `disable` over the local socket, `verify-full` to RDS",
    DATABASE_SSLROOTCERT: "Amazon's RDS CA bundle, for verify-full",
    PGSSLMODE: "The same, for libpq-based drivers that read it directly",
    PGSSLROOTCERT: "The same, for libpq-based drivers",
    SQLITE_PATH: "The database file, in the app's state directory",
};

export function renderAppContract(setups: readonly { setup: Setup; facts: Facts }[]): string {
    const [first] = setups;
    const app = first.facts.workingDirectory.replace(/^\/opt\//, "");
    const names = [...new Set(setups.flatMap((s) => Object.keys(s.facts.environment)))];
    const creds = [...new Set(setups.flatMap((s) => s.facts.credentials))];
    const cell = (s: string) => s.replace(/\|/g, "\\|");
    // A value the host fills in at deploy time (a placeholder in the step's script), such as the RDS endpoint.
    const shown = (v: string) => (/^@@value:[a-z-]+@@$/.test(v) ? `the ${v.slice(8, -2)}, filled in at deploy` : `\`${cell(v)}\``);
    const envTable = markdownTable([
        ["Variable", ...setups.map((s) => s.setup.label), "Meaning"],
        ...names.map((n) => [`\`${n}\``, ...setups.map((s) => (n in s.facts.environment ? shown(s.facts.environment[n]) : "—")), ENVIRONMENT_MEANING[n] ?? ""]),
    ]);
    const credTable = markdownTable([
        ["Credential (file name)", ...setups.map((s) => s.setup.label), "Meaning"],
        ...creds.map((c) => [`\`${c}\``, ...setups.map((s) => (s.facts.credentials.includes(c) ? "yes" : "—")), CREDENTIAL_MEANING[c] ?? ""]),
    ]);
    const filter = renderAppFilter().split("\n").find((l) => l.startsWith("failregex"))!;
    return [
        "# The app's contract with the server",
        "",
        "Generated by `npm run docs` from the app unit the program ships (`" + first.facts.unitPath + "`, read from the",
        "service step's script in each setup below) and the fail2ban filter it installs; do not edit by hand.",
        `The examples use the app name \`${app}\` (\`webapp:appName\`).`,
        "",
        "## Where the code lives and how it runs",
        "",
        `- Code: \`/opt/${app}\`, owned by root and read-only to the app (\`ProtectSystem=strict\`). The server does not`,
        "  build or fetch the app: your app's pipeline delivers it there (see *Delivering the code* below).",
        `- It runs as the system user \`${app}\` under systemd, with \`WorkingDirectory=/opt/${app}\` and the command in`,
        "  `webapp:appExecStart`, for example:",
        "",
        "  ```",
        `  ExecStart=${first.facts.execStart}`,
        "  ```",
        "",
        `- It may write only \`/var/lib/${app}\` (state, uploads under \`/var/lib/${app}/uploads\`) and \`/var/log/${app}\``,
        `  (logs: ${DEFAULT_LOG_FILES.map((f) => `\`${f.name}\``).join(", ")}, rotated by logrotate, which sends \`SIGUSR1\` to reopen them).`,
        "- It must listen on `$BIND` (127.0.0.1 and `$PORT`); nginx proxies to it. Anything on 0.0.0.0 is a finding (NET-4).",
        "- Health: `GET <webapp:healthPath>` (default `/health`) must answer 200 within 5 s; a timer asks every minute and",
        "  restarts the unit when it does not.",
        "",
        "## Environment",
        "",
        "Plain settings, visible in `systemctl show`: never a secret here (the program refuses secret-looking names).",
        "",
        envTable,
        "",
        "## Credentials",
        "",
        "Secrets are files, not environment variables: systemd copies each from `/etc/<app>/credentials/` (root-only, 0600)",
        "into a private directory only the app's processes can read, and names it in `$CREDENTIALS_DIRECTORY`. A rotation",
        "(every `webapp:secretRotationDays`) replaces the files and restarts the app.",
        "",
        credTable,
        "",
        "Python:",
        "",
        "```python",
        "import os",
        "from pathlib import Path",
        "",
        "def credential(name: str) -> str:",
        '    return (Path(os.environ["CREDENTIALS_DIRECTORY"]) / name).read_text().strip()',
        "",
        'SECRET_KEY = credential("app-secret-key")',
        'DB_PASSWORD = credential("db-password")',
        "```",
        "",
        "Node.js:",
        "",
        "```js",
        'const { readFileSync } = require("node:fs");',
        'const { join } = require("node:path");',
        "",
        'const credential = (name) => readFileSync(join(process.env.CREDENTIALS_DIRECTORY, name), "utf8").trim();',
        'const secretKey = credential("app-secret-key");',
        "```",
        "",
        "## Audit lines fail2ban reads",
        "",
        `Write one line per failed login, failed second factor and lockout to one of the log files above, starting with the`,
        `time (\`YYYY-MM-DD HH:MM:SS\`, optionally after \`[\`), then \`SECURITY[<event>]: user=<name> ip=<client address>\`, with`,
        `the event one of ${FAIL2BAN_EVENTS.map((e) => `\`${e}\``).join(", ")}. Five within ten minutes ban the address for an hour.`,
        "Quote the user name as the client sent it (`user=\"...\"`, no spaces inside): fail2ban does not count a line",
        "whose name contains ` ip=` or whose text before `SECURITY[` contains `=`, so that a client cannot choose the",
        "address that gets banned. Take the client address from nginx's `X-Real-IP` header, never from the request body.",
        "",
        "```",
        '2026-11-26 10:15:02 SECURITY[LOGIN_FAILED]: user="alice" ip=198.51.100.23',
        "```",
        "",
        "The filter, as installed in `/etc/fail2ban/filter.d/<app>.conf`:",
        "",
        "```",
        filter,
        "```",
        "",
        "## Delivering the code",
        "",
        `The deploy does not ship the app; your app's pipeline does, as the admin user over the same SSH path, into a`,
        `new release directory that it then switches to. A worked example for the seeds' kind of app, a Flask app served by`,
        `gunicorn behind nginx, with \`webapp:appExecStart\` set to \`/opt/${app}/current/venv/bin/gunicorn --config /opt/${app}/current/gunicorn.conf.py app:app\`:`,
        "",
        "```sh",
        `release=/opt/${app}/releases/$(date -u +%Y%m%d%H%M%S)`,
        `rsync -a --delete ./ deploy@$HOST:/tmp/${app}-upload/`,
        `ssh deploy@$HOST "sudo install -d -o root -g root -m 0755 $release && sudo cp -a /tmp/${app}-upload/. $release/ \\`,
        `  && sudo python3 -m venv $release/venv && sudo $release/venv/bin/pip install --no-cache-dir -r $release/requirements.txt \\`,
        `  && sudo chown -R root:root $release && sudo ln -sfn $release /opt/${app}/current && sudo systemctl restart ${app}"`,
        "```",
        "",
        "`gunicorn.conf.py` binds where the server says and logs where logrotate rotates:",
        "",
        "```python",
        "import os",
        'bind = os.environ["BIND"]',
        "workers = 2",
        `accesslog = "/var/log/${app}/access.log"`,
        `errorlog = "/var/log/${app}/error.log"`,
        'forwarded_allow_ips = "127.0.0.1"  # nginx sets X-Forwarded-For / X-Real-IP',
        "```",
        "",
        "Until `webapp:appExecStart`'s program exists, the unit is installed and enabled but not started; the first",
        `\`sudo systemctl restart ${app}\` after delivery starts it.`,
        "",
    ].join("\n");
}

if (require.main === module && process.argv[2] === "--facts") {
    void (async () => {
        const { runProgram } = await import("../plan/run");
        const run = await runProgram({ stack: process.argv[3], overrides: JSON.parse(process.argv[4] ?? "{}") });
        if (run.error) throw run.error;
        process.stdout.write(JSON.stringify(contractFacts(run)));
    })();
}
