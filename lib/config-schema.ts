/**
 * The stack configuration schema: every project config key, its type, default and rules, and the validation
 * that turns raw config into a typed {@link StackConfig} or a list of problems that each name the key, the bad
 * value and the fix. Pure: no Pulumi runtime here (see lib/config.ts for the reader).
 *
 * `Pulumi.yaml` declares the same keys for `pulumi config` users; tests/config-schema.test.ts keeps the two
 * in step (names, types, defaults).
 */
import { z } from "zod";
import { awsFleetNetworkProblem, privateNetworkProblem } from "./fleet";
import { cidrContains, isWorldCidr, parseCidr } from "./net";
import { BACKUP_TIME, DEFAULT_BACKUP_TIME } from "./render/backup";
import { cspProblems, DEFAULT_CSP } from "./render/nginx";
import { parsePublicKey } from "./ssh-keys";

export const PROJECT = "webapp";

export const ENVIRONMENTS = ["staging", "prod"] as const;
export const PROVIDERS = ["hcloud", "aws", "existing"] as const;
export const DATABASE_ENGINES = ["self-hosted", "rds", "sqlite"] as const;
export const SECRET_STORES = ["pulumi", "aws-secrets-manager"] as const;
export const UPLOADS_MODES = ["none", "internal", "static"] as const;
export const TLS_MODES = ["letsencrypt", "self-signed"] as const;
export const DATABASE_HOSTS = ["app-server", "dedicated"] as const;
/** Hetzner Cloud load balancer types (https://docs.hetzner.com/cloud/load-balancers/overview). */
export const HCLOUD_LOAD_BALANCER_TYPES = ["lb11", "lb21", "lb31"] as const;

/** Hetzner Cloud locations (https://docs.hetzner.com/cloud/general/locations/). */
export const HCLOUD_LOCATIONS = ["fsn1", "nbg1", "hel1", "ash", "hil", "sin"] as const;

/** Hetzner Cloud server types that run Debian 12 (shared x86 and Arm, and dedicated vCPU). */
export const HCLOUD_SERVER_TYPES = [
    "cx22", "cx32", "cx42", "cx52",
    "cx23", "cx33", "cx43", "cx53",
    "cpx11", "cpx21", "cpx31", "cpx41", "cpx51",
    "cpx12", "cpx22", "cpx32", "cpx42", "cpx52", "cpx62",
    "cax11", "cax21", "cax31", "cax41",
    "ccx13", "ccx23", "ccx33", "ccx43", "ccx53", "ccx63",
] as const;

export const AWS_REGIONS = [
    "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1", "eu-south-1",
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1",
    "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ap-south-1", "sa-east-1",
] as const;

const AWS_FAMILIES = ["t3", "t3a", "t4g", "m6i", "m7i", "m7g", "c6i", "c7i", "c7g", "r6i", "r7i", "r7g"] as const;
const AWS_SIZES = ["micro", "small", "medium", "large", "xlarge", "2xlarge", "4xlarge"] as const;
/** EC2 instance types offered (current general-purpose, compute and memory families with Debian 12 AMIs). */
export const AWS_INSTANCE_TYPES = AWS_FAMILIES.flatMap((f) =>
    AWS_SIZES.filter((s) => f.startsWith("t") || !["micro", "small", "medium"].includes(s)).map((s) => `${f}.${s}`),
);

/** Ports the app may never take: SSH, HTTP, HTTPS, PostgreSQL. */
export const RESERVED_PORTS: Readonly<Record<number, string>> = { 22: "SSH", 80: "HTTP", 443: "HTTPS", 5432: "PostgreSQL" };

const UNIX_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const RESERVED_USERS = ["root", "daemon", "bin", "sys", "nobody", "postgres", "www-data", "sshd", "systemd-network"];

/** The Pulumi.yaml `config:` type of each key. */
export type ConfigKeyType = "string" | "integer" | "boolean" | "array";

export type ConfigKeySpec = {
    readonly type: ConfigKeyType;
    readonly description: string;
    /** Default applied when the stack does not set the key; absent = required. */
    readonly default?: string | number | boolean | readonly string[];
    /** Optional without a default (the program has a documented behaviour when it is unset). */
    readonly optional?: true;
    /** Must be set with `pulumi config set --secret`. */
    readonly secret?: true;
};

/**
 * Every project config key. The single source for the reader (lib/config.ts), the Pulumi.yaml check and the
 * generated config reference.
 */
export const CONFIG_KEYS = {
    environment: { type: "string", description: "Deployment environment: `staging` or `prod`. Decides the policy levels and the prod-only rules." },
    provider: { type: "string", description: "Where the servers run: `hcloud` (Hetzner Cloud), `aws` (EC2) or `existing` (servers you already have, see existingHosts).", default: "hcloud" },
    existingHosts: { type: "array", description: "Provider existing: addresses or host names of Debian 12 servers where the admin user already logs in with its key.", default: [] },
    existingPrivateAddresses: { type: "array", description: "Provider existing, with a dedicated database or more than one server: each existing host's IPv4 address on the private network (privateNetworkCidr), in the order of existingHosts.", default: [] },
    existingDatabaseHost: { type: "string", description: "Provider existing with databaseHost dedicated: address or host name of the database server, reached over SSH like the others.", default: "" },
    existingDatabasePrivateAddress: { type: "string", description: "Provider existing with databaseHost dedicated: the database server's IPv4 address on the private network, where PostgreSQL listens.", default: "" },
    existingLoadBalancerAddress: { type: "string", description: "Provider existing with more than one server: the IPv4 address your load balancer connects from on the private network. It must pass TCP 80 and 443 with the PROXY protocol and health-check port 8404 on the app's health path.", default: "" },
    existingServerMemoryMiB: { type: "integer", description: "Provider existing: memory of those servers in MiB, for sizing PostgreSQL (512-1048576).", default: 2048 },
    serverCount: { type: "integer", description: "Number of app servers of the same kind (1-10). More than one: on hcloud behind Hetzner's load balancer (needs `databaseHost: dedicated`); on existing hosts behind yours (`existingLoadBalancerAddress`); on aws behind a network load balancer in a VPC of its own, sharing RDS (needs `databaseEngine: rds` and `uploadsMode: none`).", default: 1 },
    databaseHost: { type: "string", description: "Where the self-hosted PostgreSQL runs: `app-server` (the first app server) or `dedicated` (a server of its own on the private network, provider hcloud).", default: "app-server" },
    privateNetworkCidr: { type: "string", description: "The fleet's private network (RFC 1918, /24 or larger); its first /24 is the subnet of the servers and the load balancer. On aws (/22 to /16) the fleet's VPC: the first two /24s are the app servers' subnets in two zones, the third holds the load balancer's.", default: "10.0.0.0/16" },
    hcloudLoadBalancerType: { type: "string", description: "Hetzner load balancer type in front of more than one app server (provider hcloud).", default: "lb11" },
    hcloudServerType: { type: "string", description: "Hetzner server type (provider hcloud).", default: "cx23" },
    hcloudLocation: { type: "string", description: "Hetzner location (provider hcloud).", default: "fsn1" },
    awsRegion: { type: "string", description: "AWS region for EC2, RDS, S3 and Secrets Manager.", default: "eu-central-1" },
    awsInstanceType: { type: "string", description: "EC2 instance type (provider aws).", default: "t3.small" },
    volumeSizeGb: { type: "integer", description: "Size of an extra data volume in GB (10-10240); 0 for none.", default: 0 },
    adminUser: { type: "string", description: "Name of the non-root admin user with sudo that SSH and the remote steps use.", default: "deploy" },
    adminSshPublicKeys: { type: "array", description: "OpenSSH public keys (authorized_keys lines) of the admin user; ed25519 or RSA >= 3072 bits." },
    adminCidrs: { type: "array", description: "Networks allowed to reach SSH (CIDR). Prod may not use 0.0.0.0/0 or ::/0." },
    sshPort: { type: "integer", description: "SSH port: 22 or 1024-65535.", default: 22 },
    sshPrivateKey: { type: "string", description: "Private key the remote steps log in with. Unset: the SSH agent at SSH_AUTH_SOCK is used.", optional: true, secret: true },
    domain: { type: "string", description: "Primary domain name of the app (the TLS certificate's first name)." },
    domainAliases: { type: "array", description: "Further names served and put on the certificate, e.g. www.<domain>.", default: [] },
    acmeEmail: { type: "string", description: "Contact e-mail for the Let's Encrypt account (expiry notices)." },
    appName: { type: "string", description: "Short name of the app: its system user, systemd unit and directories.", default: "webapp" },
    appPort: { type: "integer", description: "Port the app listens on at 127.0.0.1 (1024-65535, not 5432 or the SSH port).", default: 8000 },
    appExecStart: { type: "string", description: "Command line that starts the app (its systemd ExecStart); the first word is an absolute path. The app reads PORT/BIND and its secrets from $CREDENTIALS_DIRECTORY." },
    healthPath: { type: "string", description: "Health endpoint the health check timer requests.", default: "/health" },
    loginPath: { type: "string", description: "Login path, rate limited to 5 requests/minute per client.", default: "/login" },
    apiPrefix: { type: "string", description: "API path prefix, rate limited to 10 requests/second per client (burst 20).", default: "/api/" },
    contentSecurityPolicy: { type: "string", description: "Content-Security-Policy header.", default: DEFAULT_CSP },
    clientMaxBodySize: { type: "string", description: "Largest request body nginx accepts (nginx size: 10m, 512k).", default: "10m" },
    uploadsMode: { type: "string", description: "Uploads location: `none`, `internal` (only via the app's X-Accel-Redirect) or `static` (served as downloads).", default: "none" },
    uploadsPath: { type: "string", description: "URL path of uploads; the files live in /var/lib/<app>/uploads.", default: "/uploads/" },
    tlsMode: { type: "string", description: "`letsencrypt` (the staging stack uses Let's Encrypt's staging CA) or `self-signed` for private deployments.", default: "letsencrypt" },
    databaseEngine: { type: "string", description: "`self-hosted` (PostgreSQL on the server), `rds` (provider aws) or `sqlite`.", default: "self-hosted" },
    rdsInstanceClass: { type: "string", description: "RDS instance class (databaseEngine rds).", default: "db.t4g.small" },
    rdsAllocatedStorageGb: { type: "integer", description: "RDS storage in GB (20-1000, databaseEngine rds).", default: 20 },
    backupTime: { type: "string", description: "Time of day (HH:MM, in the server's time zone: UTC on Debian's cloud images) of the daily backup. The uploads backup runs 30 minutes later, the weekly backup on Sundays an hour later, the restore drill on Sundays three hours later.", default: DEFAULT_BACKUP_TIME },
    backupBucketName: { type: "string", description: "S3 bucket for off-site backups; empty = `<project>-<stack>-backups`.", default: "" },
    backupRetentionDailyDays: { type: "integer", description: "Days daily backups are kept (1-3650; the checklist wants >= 30).", default: 30 },
    backupRetentionWeeklyDays: { type: "integer", description: "Days weekly backups are kept (1-3650; the checklist wants >= 90).", default: 90 },
    uploadsRetentionDays: { type: "integer", description: "Days file backups of the uploads directory are kept (1-3650; the checklist wants >= 7).", default: 7 },
    offsiteBackup: { type: "boolean", description: "Copy every backup to an S3 bucket in `awsRegion` (required in prod by BK-5).", default: false },
    secretStore: { type: "string", description: "Where generated secrets are kept besides Pulumi state: `pulumi` or `aws-secrets-manager` (prod: SEC-3).", default: "pulumi" },
    secretRotationDays: { type: "integer", description: "Rotation period of generated secrets in days (1-365).", default: 90 },
    protect: { type: "boolean", description: "Protect stateful resources against deletion (Pulumi `protect` and provider delete protection).", default: false },
} as const satisfies Record<string, ConfigKeySpec>;

export type ConfigKey = keyof typeof CONFIG_KEYS;

/** One validation problem: which key, what is wrong with which value, how to fix it. */
export type ConfigProblem = { key: string; message: string; fix: string };

/** Thrown by {@link validateConfig}; its message lists every problem, one per line. */
export class ConfigError extends Error {
    constructor(
        readonly stack: string,
        readonly problems: readonly ConfigProblem[],
        headline = "Invalid configuration",
    ) {
        super(
            `${headline} for stack "${stack}" (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${PROJECT}:${p.key}: ${p.message}\n    fix: ${p.fix}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

const show = (v: unknown) => JSON.stringify(v);

/** Stands for the stack's name in fix commands written before the stack is known; validateConfig fills it in. */
const STACK = "<stack>";

/** `pulumi config set` command that fixes a key. */
function setCmd(key: string, example: string, secret = false): string {
    const qualified = /[[.]/.test(key) ? `--path '${PROJECT}:${key}'` : `${PROJECT}:${key}`;
    return `pulumi config set${secret ? " --secret" : ""} ${qualified} ${example}`;
}

function enumOf<T extends readonly [string, ...string[]]>(values: T, example: string) {
    return z.string().superRefine((v, ctx) => {
        if (!values.includes(v)) {
            ctx.addIssue({ code: "custom", message: `${show(v)} is not one of: ${values.join(", ")}`, params: { example } });
        }
    }) as unknown as z.ZodType<T[number], string>;
}

function intIn(min: number, max: number, example: number, what: string) {
    return z.number().superRefine((v, ctx) => {
        if (!Number.isInteger(v) || v < min || v > max) {
            ctx.addIssue({ code: "custom", message: `${show(v)} is not ${what} (a whole number from ${min} to ${max})`, params: { example: String(example) } });
        }
    });
}

const unixName = (example: string) =>
    z.string().superRefine((v, ctx) => {
        if (!UNIX_NAME.test(v)) {
            ctx.addIssue({ code: "custom", message: `${show(v)} is not a valid user name (lowercase letters, digits, _ and -, starting with a letter or _, at most 32)`, params: { example } });
        } else if (RESERVED_USERS.includes(v)) {
            ctx.addIssue({ code: "custom", message: `${show(v)} is a system account name`, params: { example } });
        }
    });

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why a domain name is not usable for a public certificate, or undefined when it is. */
export function domainProblem(name: string): string | undefined {
    if (name !== name.toLowerCase()) return "must be lowercase";
    if (name.endsWith(".")) return "must not end with a dot";
    if (name.length > 253) return "is longer than 253 characters";
    if (name.includes("*")) return "is a wildcard; Let's Encrypt HTTP-01 validation needs concrete names";
    const labels = name.split(".");
    if (labels.length < 2) return "is not a fully qualified domain name (it needs at least one dot)";
    const bad = labels.find((l) => !LABEL.test(l));
    if (bad !== undefined) return `has an invalid label ${show(bad)} (letters, digits and inner hyphens, 1-63 characters)`;
    if (/^[0-9]+$/.test(labels[labels.length - 1])) return "is an IP address, not a domain name";
    return undefined;
}

const domainName = z.string().superRefine((v, ctx) => {
    const problem = domainProblem(v);
    if (problem) ctx.addIssue({ code: "custom", message: `${show(v)} ${problem}`, params: { example: "app.example.com" } });
});

const cidr = z.string().superRefine((v, ctx) => {
    const parsed = parseCidr(v);
    if ("error" in parsed) {
        ctx.addIssue({ code: "custom", message: `${show(v)} ${parsed.error}`, params: { example: "203.0.113.10/32" } });
    }
});

const publicKey = z.string().superRefine((v, ctx) => {
    const parsed = parsePublicKey(v);
    if ("error" in parsed) {
        ctx.addIssue({ code: "custom", message: `the key ${show(v.slice(0, 40) + (v.length > 40 ? "…" : ""))} ${parsed.error}`, params: { example: "\"$(cat ~/.ssh/id_ed25519.pub)\"" } });
    }
});

const port = (example: number) =>
    z.number().superRefine((v, ctx) => {
        if (!Number.isInteger(v) || v < 1 || v > 65535) {
            ctx.addIssue({ code: "custom", message: `${show(v)} is not a TCP port (1-65535)`, params: { example: String(example) } });
        }
    });

const boolean = z.boolean();

const urlPath = (example: string) =>
    z.string().superRefine((v, ctx) => {
        if (!/^\/[A-Za-z0-9._~\-/]*$/.test(v)) {
            ctx.addIssue({ code: "custom", message: `${show(v)} is not an absolute URL path (letters, digits and . _ ~ - /)`, params: { example } });
        }
    });

const execStart = z.string().superRefine((v, ctx) => {
    if (!/^\/\S+/.test(v) || /[\n%]/.test(v)) {
        ctx.addIssue({ code: "custom", message: `${show(v)} must start with the absolute path of the program and be one line without %`, params: { example: "'/opt/webapp/venv/bin/gunicorn --config /opt/webapp/gunicorn.conf.py app:app'" } });
    }
});

/** An array that must have at least one item; the fix sets item 0. */
const nonEmpty = (item: z.ZodString, message: string, example: string) =>
    z.array(item).superRefine((v, ctx) => {
        if (v.length === 0) ctx.addIssue({ code: "custom", message, params: { example, at: 0 } });
    });

export const configSchema = z
    .object({
        environment: enumOf(ENVIRONMENTS, "prod"),
        provider: enumOf(PROVIDERS, "hcloud"),
        serverCount: intIn(1, 10, 1, "a server count"),
        hcloudServerType: enumOf(HCLOUD_SERVER_TYPES, "cx23"),
        hcloudLocation: enumOf(HCLOUD_LOCATIONS, "fsn1"),
        databaseHost: enumOf(DATABASE_HOSTS, "dedicated"),
        privateNetworkCidr: z.string().superRefine((v, ctx) => {
            const problem = privateNetworkProblem(v);
            if (problem) ctx.addIssue({ code: "custom", message: problem, params: { example: "10.0.0.0/16" } });
        }),
        hcloudLoadBalancerType: enumOf(HCLOUD_LOAD_BALANCER_TYPES, "lb11"),
        awsRegion: enumOf(AWS_REGIONS, "eu-central-1"),
        existingHosts: z.array(
            z.string().superRefine((v, ctx) => {
                const ip = !("error" in parseCidr(`${v}/${v.includes(":") ? 128 : 32}`));
                if (!ip && domainProblem(v) !== undefined && v !== "localhost") ctx.addIssue({ code: "custom", message: `${show(v)} is neither an IP address nor a host name`, params: { example: "203.0.113.20" } });
            }),
        ),
        existingPrivateAddresses: z.array(z.string()),
        existingDatabaseHost: z.string(),
        existingDatabasePrivateAddress: z.string(),
        existingLoadBalancerAddress: z.string(),
        existingServerMemoryMiB: intIn(512, 1048576, 2048, "a memory size in MiB"),
        awsInstanceType: enumOf(AWS_INSTANCE_TYPES as unknown as [string, ...string[]], "t3.small"),
        volumeSizeGb: z.number().superRefine((v, ctx) => {
            if (!Number.isInteger(v) || (v !== 0 && (v < 10 || v > 10240))) {
                ctx.addIssue({ code: "custom", message: `${show(v)} is not a volume size (0 for none, or 10-10240 GB)`, params: { example: "50" } });
            }
        }),
        adminUser: unixName("deploy"),
        adminSshPublicKeys: nonEmpty(publicKey, "lists no key, so nobody could log in", "\"$(cat ~/.ssh/id_ed25519.pub)\""),
        adminCidrs: nonEmpty(cidr, "lists no network, so SSH would be closed to everyone", "203.0.113.10/32"),
        sshPort: port(22),
        domain: domainName,
        domainAliases: z.array(domainName),
        acmeEmail: z.string().superRefine((v, ctx) => {
            if (!z.email().safeParse(v).success) {
                ctx.addIssue({ code: "custom", message: `${show(v)} is not an e-mail address`, params: { example: "ops@example.com" } });
            }
        }),
        appName: unixName("webapp"),
        appPort: port(8000),
        appExecStart: execStart,
        healthPath: urlPath("/health"),
        loginPath: urlPath("/login"),
        apiPrefix: urlPath("/api/"),
        contentSecurityPolicy: z.string().superRefine((v, ctx) => {
            for (const problem of cspProblems(v)) ctx.addIssue({ code: "custom", message: problem.replace(/^contentSecurityPolicy /, ""), params: { example: `"${DEFAULT_CSP}"` } });
        }),
        clientMaxBodySize: z.string().superRefine((v, ctx) => {
            if (!/^[1-9][0-9]*[kmg]?$/.test(v)) ctx.addIssue({ code: "custom", message: `${show(v)} is not an nginx size (10m, 512k, 1g)`, params: { example: "10m" } });
        }),
        uploadsMode: enumOf(UPLOADS_MODES, "internal"),
        uploadsPath: urlPath("/uploads/"),
        tlsMode: enumOf(TLS_MODES, "letsencrypt"),
        databaseEngine: enumOf(DATABASE_ENGINES, "self-hosted"),
        rdsInstanceClass: z.string().superRefine((v, ctx) => {
            if (!/^db\.[a-z0-9]+\.[a-z0-9]+$/.test(v)) ctx.addIssue({ code: "custom", message: `${show(v)} is not an RDS instance class`, params: { example: "db.t4g.small" } });
        }),
        rdsAllocatedStorageGb: intIn(20, 1000, 20, "an RDS storage size in GB"),
        backupBucketName: z.string().superRefine((v, ctx) => {
            if (v !== "" && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(v)) ctx.addIssue({ code: "custom", message: `${show(v)} is not a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)`, params: { example: "example-webapp-backups" } });
        }),
        backupTime: z.string().superRefine((v, ctx) => {
            if (!BACKUP_TIME.test(v)) ctx.addIssue({ code: "custom", message: `${show(v)} is not a time of day as HH:MM (00:00-23:59)`, params: { example: DEFAULT_BACKUP_TIME } });
        }),
        backupRetentionDailyDays: intIn(1, 3650, 30, "a retention in days"),
        backupRetentionWeeklyDays: intIn(1, 3650, 90, "a retention in days"),
        uploadsRetentionDays: intIn(1, 3650, 7, "a retention in days"),
        offsiteBackup: boolean,
        secretStore: enumOf(SECRET_STORES, "aws-secrets-manager"),
        secretRotationDays: intIn(1, 365, 90, "a rotation period in days"),
        protect: boolean,
    })
    .strict()
    .superRefine((c, ctx) => {
        /** `example` is a value for `pulumi config set`; `fix` a whole instruction. */
        const issue = (path: (string | number)[], message: string, params: { example: string } | { fix: string }) =>
            ctx.addIssue({ code: "custom", path, message, params });

        if (c.environment === "prod") {
            c.adminCidrs.forEach((v, i) => {
                if (isWorldCidr(v)) {
                    issue(["adminCidrs", i], `${show(v)} opens SSH to the whole internet, which prod does not allow (NET-1)`, { example: "203.0.113.10/32" });
                }
            });
        }
        // Field rules above already reported values that are no port or count at all; judge only the others here.
        const isPort = (p: number) => Number.isInteger(p) && p >= 1 && p <= 65535;
        if (isPort(c.sshPort) && c.sshPort !== 22 && (c.sshPort < 1024 || RESERVED_PORTS[c.sshPort])) {
            const what = RESERVED_PORTS[c.sshPort] ? `the ${RESERVED_PORTS[c.sshPort]} port` : "a privileged port other than 22";
            issue(["sshPort"], `${c.sshPort} is ${what}`, { example: "2222" });
        }
        if (!isPort(c.appPort)) {
            // reported by the field rule
        } else if (RESERVED_PORTS[c.appPort]) {
            issue(["appPort"], `${c.appPort} collides with ${RESERVED_PORTS[c.appPort]}`, { example: "8000" });
        } else if (c.appPort < 1024) {
            issue(["appPort"], `${c.appPort} is a privileged port; the app runs without capabilities`, { example: "8000" });
        } else if (c.appPort === c.sshPort) {
            issue(["appPort"], `${c.appPort} collides with sshPort`, { example: "8000" });
        }
        if (c.provider === "existing" && c.existingHosts.length !== c.serverCount) {
            issue(["existingHosts"], `lists ${c.existingHosts.length} hosts for serverCount ${c.serverCount}; provider existing needs one address per server`, {
                fix: `pulumi config set --path '${PROJECT}:existingHosts[0]' <address> --stack ${STACK}, one entry per server (or set ${PROJECT}:serverCount)`,
            });
        }
        if (c.databaseEngine === "rds" && c.provider !== "aws") {
            issue(["databaseEngine"], `"rds" needs provider "aws" (provider is ${show(c.provider)})`, {
                fix: `pulumi config set ${PROJECT}:databaseEngine self-hosted --stack ${STACK}, or pulumi config set ${PROJECT}:provider aws --stack ${STACK}`,
            });
        }
        if (c.databaseHost === "dedicated" && (c.databaseEngine !== "self-hosted" || c.provider === "aws")) {
            issue(["databaseHost"], `"dedicated" runs the self-hosted PostgreSQL on a server of its own, on hcloud or an existing host (databaseEngine is ${show(c.databaseEngine)}, provider ${show(c.provider)})`, {
                fix: `pulumi config set ${PROJECT}:databaseHost app-server --stack ${STACK}, or use provider hcloud or existing with databaseEngine self-hosted`,
            });
        }
        const fleet = c.serverCount > 1 && c.serverCount <= 10;
        if (fleet && c.provider === "hcloud" && !(c.databaseEngine === "self-hosted" && c.databaseHost === "dedicated")) {
            issue(["databaseHost"], `${c.serverCount} app servers cannot share a database that lives on one of them; on hcloud it gets a server of its own`, {
                fix: `pulumi config set ${PROJECT}:databaseEngine self-hosted --stack ${STACK} && pulumi config set ${PROJECT}:databaseHost dedicated --stack ${STACK} (or serverCount 1)`,
            });
        } else if (fleet && c.provider === "aws" && c.databaseEngine !== "rds") {
            issue(["serverCount"], `${c.serverCount} servers cannot share a ${c.databaseEngine} database that lives on one server`, {
                fix: `pulumi config set ${PROJECT}:databaseEngine rds --stack ${STACK}, or pulumi config set ${PROJECT}:serverCount 1 --stack ${STACK}`,
            });
        }
        if (fleet && c.provider === "aws") {
            const problem = awsFleetNetworkProblem(c.privateNetworkCidr);
            if (problem && !privateNetworkProblem(c.privateNetworkCidr)) issue(["privateNetworkCidr"], problem, { example: "10.0.0.0/16" });
            if (c.uploadsMode !== "none") {
                // Each server would keep the uploads it received on its own disk; the others would not serve them.
                issue(["uploadsMode"], `${show(c.uploadsMode)} keeps uploads on one app server's disk, where the other ${c.serverCount - 1} servers behind the load balancer cannot serve them`, {
                    fix: `pulumi config set ${PROJECT}:uploadsMode none --stack ${STACK} (keep uploads in object storage), or pulumi config set ${PROJECT}:serverCount 1 --stack ${STACK}`,
                });
            }
        } else if (fleet && c.provider === "existing" && !(c.databaseEngine === "self-hosted" && c.databaseHost === "dedicated")) {
            issue(["databaseHost"], `${c.serverCount} existing app hosts cannot share a database that lives on one of them; give it a host of its own`, {
                fix: `pulumi config set ${PROJECT}:databaseHost dedicated --stack ${STACK} && pulumi config set ${PROJECT}:existingDatabaseHost <address> --stack ${STACK} (or serverCount 1)`,
            });
        }
        if (c.provider === "existing") existingFleetProblems(c, issue);
        if (c.databaseHost === "dedicated" && c.uploadsMode !== "none") {
            // Backups run on the database server; the uploads would live on the app servers' disks, out of their reach.
            issue(["uploadsMode"], `${show(c.uploadsMode)} keeps uploads on an app server's disk, where the database server's backups cannot reach them`, {
                fix: `pulumi config set ${PROJECT}:uploadsMode none --stack ${STACK} (keep uploads in object storage), or pulumi config set ${PROJECT}:databaseHost app-server --stack ${STACK}`,
            });
        }
        c.domainAliases.forEach((d, i) => {
            if (d === c.domain || c.domainAliases.indexOf(d) !== i) {
                issue(["domainAliases", i], `${show(d)} is listed twice`, { fix: `pulumi config rm --path '${PROJECT}:domainAliases[${i}]' --stack ${STACK}` });
            }
        });
        if (c.adminUser === c.appName) {
            issue(["appName"], `${show(c.appName)} is also the admin user; the app needs its own system user (HOST-3)`, { example: "webapp" });
        }
    });

/** The private-network addresses an existing fleet needs, each an IPv4 address inside privateNetworkCidr. */
function existingFleetProblems(
    c: { serverCount: number; databaseHost: string; existingHosts: string[]; existingPrivateAddresses: string[]; existingDatabaseHost: string; existingDatabasePrivateAddress: string; existingLoadBalancerAddress: string; privateNetworkCidr: string },
    issue: (path: (string | number)[], message: string, params: { example: string } | { fix: string }) => void,
): void {
    const dedicated = c.databaseHost === "dedicated";
    const fleet = c.serverCount > 1;
    const network = privateNetworkProblem(c.privateNetworkCidr) ? undefined : c.privateNetworkCidr;
    const address = (path: (string | number)[], v: string, what: string, example: string) => {
        if (!/^(\d{1,3}\.){3}\d{1,3}$/.test(v) || "error" in parseCidr(`${v}/32`)) issue(path, `${show(v)} is not an IPv4 address (${what})`, { example });
        else if (network && !cidrContains(network, v)) issue(path, `${show(v)} is outside privateNetworkCidr ${network} (${what})`, { example });
    };
    if (!dedicated && !fleet) return;
    if (c.existingPrivateAddresses.length !== c.existingHosts.length) {
        issue(["existingPrivateAddresses"], `lists ${c.existingPrivateAddresses.length} addresses for ${c.existingHosts.length} existing hosts; give each host's private address, in the order of existingHosts`, {
            fix: `pulumi config set --path '${PROJECT}:existingPrivateAddresses[0]' <private address of existingHosts[0]> --stack ${STACK}, one entry per host`,
        });
    } else c.existingPrivateAddresses.forEach((v, i) => address(["existingPrivateAddresses", i], v, `the private address of ${c.existingHosts[i]}`, "10.0.0.10"));
    if (dedicated) {
        if (!c.existingDatabaseHost) issue(["existingDatabaseHost"], "is empty; a dedicated database on existing hosts needs the database server's address", { example: "203.0.113.30" });
        address(["existingDatabasePrivateAddress"], c.existingDatabasePrivateAddress, "where PostgreSQL listens", "10.0.0.3");
    }
    if (fleet) address(["existingLoadBalancerAddress"], c.existingLoadBalancerAddress, "the address your load balancer connects from", "10.0.0.2");
    const all = [...c.existingPrivateAddresses, ...(dedicated ? [c.existingDatabasePrivateAddress] : []), ...(fleet ? [c.existingLoadBalancerAddress] : [])].filter(Boolean);
    const twice = all.filter((a, i) => all.indexOf(a) !== i);
    if (twice.length) {
        issue(["existingPrivateAddresses"], `${[...new Set(twice)].join(", ")} is given to more than one machine (app hosts, database server, load balancer)`, {
            fix: `pulumi config set --path '${PROJECT}:existingPrivateAddresses[<n>]' <that host's own private address> --stack ${STACK}, or correct existingDatabasePrivateAddress / existingLoadBalancerAddress`,
        });
    }
}

/** The validated plain (non-secret) configuration. */
export type StackConfig = z.infer<typeof configSchema>;

/** Raw values as read from Pulumi config: strings for string keys, parsed JSON for the others. */
export type RawConfig = Partial<Record<ConfigKey, unknown>> & Record<string, unknown>;

/** Applies defaults and validates; throws a {@link ConfigError} naming every problem. */
export function validateConfig(raw: RawConfig, stack: string): StackConfig {
    const problems: ConfigProblem[] = [];
    const withDefaults: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(CONFIG_KEYS) as [ConfigKey, ConfigKeySpec][]) {
        if (spec.secret) continue; // secrets are read as Outputs by lib/config.ts, never validated as plain values
        const value = raw[key];
        if (value === undefined || value === null) {
            if (spec.default !== undefined) {
                withDefaults[key] = Array.isArray(spec.default) ? [...spec.default] : spec.default;
            } else if (!spec.optional) {
                problems.push({ key, message: `is required (${spec.description})`, fix: `${setCmd(key, `<${spec.type}>`, !!spec.secret)} --stack ${stack}` });
            }
            continue;
        }
        withDefaults[key] = value;
    }
    for (const key of Object.keys(raw)) {
        if (!(key in CONFIG_KEYS)) {
            problems.push({ key, message: "is not a known key of this project", fix: `pulumi config rm ${PROJECT}:${key} --stack ${stack} (known keys are listed in Pulumi.yaml)` });
        }
    }
    if (problems.length === 0) {
        const result = configSchema.safeParse(withDefaults);
        if (result.success) return result.data;
        for (const issue of result.error.issues) {
            const params = (issue as { params?: { example?: string; fix?: string; at?: number } }).params ?? {};
            const path = params.at === undefined ? issue.path : [...issue.path, params.at];
            const [top, ...rest] = path.map(String);
            const key = top + rest.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join("");
            const spec = CONFIG_KEYS[top as ConfigKey] as ConfigKeySpec | undefined;
            const fix = params.fix?.replaceAll(STACK, stack) ?? `${setCmd(key, params.example ?? `<${spec?.type ?? "value"}>`, !!spec?.secret)} --stack ${stack}`;
            const message = issue.code === "custom" ? issue.message : `${show(valueAt(withDefaults, issue.path))} is invalid: ${issue.message}`;
            problems.push({ key, message, fix });
        }
    }
    throw new ConfigError(stack, problems);
}

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
    return path.reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<PropertyKey, unknown>)[k] : undefined), obj);
}
