/**
 * The real Pulumi engine (CLI built by .ci/run from tools/pulumi) judges the program with the policy pack at a
 * first `pulumi preview`, on an empty state, with stand-in providers (tests/engine). Three promises are checked:
 * - every mandatory control is judged before the first deploy: no mandatory policy is reported as
 *   "can't run … during preview", and a compliant stack passes;
 * - the offline plan (first-deploy phase) reports exactly the engine's findings, compliant or not, over a corpus
 *   of insecure configurations (and changes to the code): it can never say PASSED where the engine could not judge;
 * - without a preview (`pulumi up --skip-preview`, the Automation API's `up()`), the resource policies stop an
 *   insecure host step or firewall before any step runs.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ALL_POLICIES } from "../policies/catalog";
import { packConfig } from "../policies/pack-config";
import { evaluate } from "../plan/evaluate";
import { Engine, EngineResult, ownValues, policyEvents, ROOT, steps } from "./engine/engine";
import { runIsolated } from "./helpers";

jest.setTimeout(10 * 60 * 1000);

let engine: Engine;
beforeAll(() => {
    // The pack ships compiled (policies/package.json main); build it from the sources under test.
    execFileSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", path.join(ROOT, "policies")], { stdio: "pipe" });
    engine = new Engine();
});
afterAll(() => engine?.dispose());

/** `before`: a change to the program's code (tests/engine/programs), made in both runs. */
type Case = { name: string; stack: string; config: Record<string, string>; before?: string };

const levelOf = (stack: string, policy: string) => {
    const entry = packConfig(stack)[policy];
    return typeof entry === "string" ? entry : entry?.enforcementLevel ?? "mandatory";
};

/** A finding as both sides can name it: policy, resource, and the message without the engine's description line. */
type Key = string;
const engineFindings = (r: EngineResult): Key[] =>
    policyEvents(r)
        .map((p) => `${p.policyName} | ${p.resourceUrn ? p.resourceUrn.split("::").slice(-1)[0] : "stack"} | ${(p.message.split("\n").slice(1).join("\n") || p.message).trimEnd()}`)
        .sort();

async function planFindings(c: Case): Promise<Key[]> {
    const run = await runIsolated({ stack: c.stack, overrides: c.config, firstDeploy: true }, c.before);
    if (run.error) throw run.error;
    const e = evaluate(run, ALL_POLICIES, packConfig(c.stack));
    return e.findings.map((f) => `${f.policy} | ${f.resource?.name ?? "stack"} | ${f.message}`).sort();
}

/** A case with the stack's own values in place of the committed examples, as a user runs it. */
const configured = (c: Case): Case => ({ ...c, config: { ...ownValues(c.stack), ...c.config } });

async function preview(c: Case): Promise<EngineResult> {
    engine.forget(c.stack);
    const r = await engine.run({ stack: c.stack, op: "preview", config: c.config, before: c.before });
    if (!r.ok && !/preview failed|mandatory policy violation|policy violation/i.test(r.error ?? "")) throw new Error(`${c.name}: the preview failed for another reason:\n${r.error}`);
    return r;
}

const existing = { "webapp:provider": "existing", "webapp:existingHosts": '["10.20.31.10"]' };

describe("a first preview judges every mandatory control", () => {
    const cases = ([
        { name: "staging", stack: "staging", config: {} },
        { name: "prod", stack: "prod", config: {} },
        { name: "prod on AWS with RDS", stack: "prod", config: { "webapp:provider": "aws", "webapp:databaseEngine": "rds" } },
        { name: "prod on existing servers", stack: "prod", config: existing },
        { name: "prod as a fleet of three behind the load balancer", stack: "prod", config: { "webapp:serverCount": "3", "webapp:databaseHost": "dedicated", "webapp:uploadsMode": "none" } },
        { name: "prod as an AWS fleet of three behind the network load balancer", stack: "prod", config: { "webapp:provider": "aws", "webapp:databaseEngine": "rds", "webapp:serverCount": "3", "webapp:uploadsMode": "none" } },
        {
            name: "prod on two existing hosts and a database host, behind your own load balancer",
            stack: "prod",
            config: {
                "webapp:provider": "existing",
                "webapp:serverCount": "2",
                "webapp:existingHosts": '["10.20.31.10", "10.20.31.11"]',
                "webapp:databaseHost": "dedicated",
                "webapp:uploadsMode": "none",
                "webapp:existingPrivateAddresses": '["10.0.0.10", "10.0.0.11"]',
                "webapp:existingDatabaseHost": "10.20.31.30",
                "webapp:existingDatabasePrivateAddress": "10.0.0.3",
                "webapp:existingLoadBalancerAddress": "10.0.0.2",
            },
        },
    ] as Case[]).map(configured);
    test.each(cases)("$name", async (c) => {
        const r = await preview(c);
        const events = policyEvents(r);
        const cantRun = events.filter((p) => /can't run/.test(p.message)).map((p) => `${levelOf(c.stack, p.policyName)} ${p.policyName}: ${p.message}`);
        expect(cantRun).toEqual([]);
        // Compliant: no mandatory finding, and the preview plans every resource the plan has.
        expect(events.filter((p) => p.enforcementLevel === "mandatory")).toEqual([]);
        expect(r.ok).toBe(true);
        const plan = await runIsolated({ stack: c.stack, overrides: c.config, firstDeploy: true });
        const planned = steps(r).filter((s) => s.op === "create" && !s.type.startsWith("pulumi:providers:")).map((s) => s.name).sort();
        expect(planned).toEqual(plan.resources.filter((x) => x.type !== "pulumi:pulumi:Stack" && !x.type.startsWith("pulumi:providers:")).map((x) => x.name).sort());
        // What the engine and the plan report agree (staging: the advisory retention findings).
        expect(engineFindings(r)).toEqual(await planFindings(c));
    });
});

describe("the engine and the offline plan agree on insecure changes", () => {
    const corpus = ([
        { name: "a week of daily backups, nothing protected", stack: "prod", config: { "webapp:backupRetentionDailyDays": "7", "webapp:protect": "false" } },
        { name: "backups without an off-site copy", stack: "prod", config: { "webapp:offsiteBackup": "false" } },
        { name: "secrets only in Pulumi state", stack: "prod", config: { "webapp:secretStore": "pulumi" } },
        { name: "inline scripts allowed", stack: "prod", config: { "webapp:contentSecurityPolicy": "default-src 'self'; script-src 'self' 'unsafe-inline'" } },
        { name: "self-signed certificates", stack: "prod", config: { "webapp:tlsMode": "self-signed" } },
        { name: "RDS, nothing protected", stack: "prod", config: { "webapp:provider": "aws", "webapp:databaseEngine": "rds", "webapp:protect": "false" } },
        { name: "existing servers, short weekly retention", stack: "prod", config: { ...existing, "webapp:backupRetentionWeeklyDays": "30" } },
        { name: "staging without off-site copies and short retention", stack: "staging", config: { "webapp:backupRetentionDailyDays": "3" } },
        // Judged by resource policies (on the HostHardening component and the step, on the firewall) as well.
        { name: "the sshd renderer weakened to MaxAuthTries 6", stack: "prod", config: {}, before: path.join(__dirname, "engine/programs/sshd-max-auth-tries.ts") },
        { name: "the public rule set opening SSH to the internet", stack: "prod", config: {}, before: path.join(__dirname, "engine/programs/world-open-ssh.ts") },
    ] as Case[]).map(configured);
    test.each(corpus)("$name", async (c) => {
        const r = await preview(c);
        const fromEngine = engineFindings(r);
        expect(fromEngine.length).toBeGreaterThan(0);
        expect(fromEngine.filter((k) => /can't run/.test(k))).toEqual([]);
        expect(fromEngine).toEqual(await planFindings(c));
        // A mandatory finding stops the preview, as it stops `pulumi up` before any step.
        if (policyEvents(r).some((p) => p.enforcementLevel === "mandatory")) expect(r.ok).toBe(false);
    });
});

describe("pulumi up --skip-preview, which the Automation API's up() runs, stops an insecure change before any step", () => {
    /** A file each stand-in appends to: the commands the command stand-in starts, the creates the cloud stand-ins get. */
    const records = () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "skip-preview-"));
        const runs = path.join(dir, "runs");
        const creates = path.join(dir, "creates");
        const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n").filter(Boolean).map((u) => u.split("::").slice(-1)[0]) : []);
        return { env: { COMMAND_STANDIN_RUNS: runs, PREVIEW_ONLY_RECORD_CREATES: creates }, runs: () => read(runs), creates: () => read(creates), dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
    };
    const mandatory = (r: EngineResult) => policyEvents(r).filter((p) => p.enforcementLevel === "mandatory").map((p) => `${p.policyName} | ${p.resourceUrn?.split("::").slice(-1)[0]} | ${p.message.split("\n").slice(1).join("\n").trimEnd()}`);

    test("MaxAuthTries 6 in the ssh step's renderer: the host's hardening is refused as a whole, no step runs", async () => {
        const rec = records();
        try {
            // Servers that exist (nothing to create at a provider); a port where nothing listens, should a step run.
            const c = configured({ name: "sshd", stack: "prod", config: { ...existing, "webapp:existingHosts": '["127.0.0.1"]', "webapp:sshPort": "65533", "webapp:secretStore": "pulumi", "webapp:offsiteBackup": "false" } });
            engine.forget(c.stack);
            const r = await engine.run({ stack: c.stack, op: "up", skipPreview: true, config: c.config, before: path.join(__dirname, "engine/programs/sshd-max-auth-tries.ts"), env: rec.env });
            expect(r.ok).toBe(false);
            expect(r.error).toContain("[mandatory] [severity: high]  ssh-3-ssh-admin-only  (webapp:host:HostHardening: host-0)");
            expect(mandatory(r)).toEqual(["ssh-3-ssh-admin-only | host-0 | /etc/ssh/sshd_config.d/10-hardening.conf: MaxAuthTries is 6, not <= 3 (host-0-ssh)"]);
            expect(steps(r, "update").filter((s) => s.type === "command:remote:Command")).toEqual([]);
            expect(rec.runs()).toEqual([]);
        } finally {
            rec.dispose();
        }
    });

    test("SSH open to the internet in the cloud firewall's rule set: the firewall is refused before it is created, no step runs", async () => {
        const rec = records();
        try {
            const c = configured({ name: "firewall", stack: "prod", config: {} });
            engine.forget(c.stack);
            const r = await engine.run({ stack: c.stack, op: "up", skipPreview: true, config: c.config, before: path.join(__dirname, "engine/programs/world-open-ssh.ts"), env: rec.env });
            expect(r.ok).toBe(false);
            expect(mandatory(r)).toEqual([expect.stringMatching(/^net-1-only-web-ports-public \| web-firewall \| web-firewall opens port 22 to 0\.0\.0\.0\/0, the whole internet/)]);
            // The engine created what it had before the firewall (recorded, not made), never the firewall or a server.
            expect(rec.creates()).not.toContain("web-firewall");
            expect(rec.creates().filter((n) => /server/.test(n))).toEqual([]);
            expect(rec.runs()).toEqual([]);
        } finally {
            rec.dispose();
        }
    });
});

describe("what a user adds next to the stack's own resources", () => {
    test("a rule that opens 443 on the AWS fleet servers' security group is NET-6's at the first preview, before the group has an id", async () => {
        const c = configured({ name: "open web ports", stack: "prod", config: { "webapp:provider": "aws", "webapp:databaseEngine": "rds", "webapp:serverCount": "3", "webapp:uploadsMode": "none" } });
        engine.forget(c.stack);
        const r = await engine.run({ stack: c.stack, op: "preview", config: c.config, extend: path.join(__dirname, "engine/programs/open-web-ports.ts") });
        expect(engineFindings(r)).toEqual([
            "net-6-web-ports-only-from-load-balancer | web-https-anywhere | web-https-anywhere opens 443 to 0.0.0.0/0 although a load balancer takes the traffic, so clients can bypass it (and its address checks) to reach a server directly; admit the web ports only from the load balancer's subnets or its security group (target groups with proxyProtocolV2 and preserveClientIp \"false\").",
        ]);
        expect(r.ok).toBe(false);
    });

    test("a load balancer's own security group may admit the internet: NET-6 knows it from the engine's property dependencies", async () => {
        const c = configured({ name: "a load balancer's group", stack: "prod", config: { "webapp:provider": "aws", "webapp:databaseEngine": "rds", "webapp:serverCount": "3", "webapp:uploadsMode": "none" } });
        engine.forget(c.stack);
        const r = await engine.run({ stack: c.stack, op: "preview", config: c.config, extend: path.join(__dirname, "engine/programs/load-balancer-group.ts") });
        expect(engineFindings(r)).toEqual([]);
        expect(r.ok).toBe(true);
        expect(steps(r).filter((s) => s.name.startsWith("extra-")).map((s) => `${s.op} ${s.name}`).sort()).toEqual(["create extra-lb-group", "create extra-nlb"]);
    });
});

describe("the committed stack files are examples", () => {
    test("a real preview of prod as committed is refused before any resource, naming each example value and its fix", async () => {
        engine.forget("prod");
        const r = await engine.run({ stack: "prod", op: "preview" });
        expect(r.ok).toBe(false);
        expect(r.error).toContain('Not yet configured: example values for stack "prod" (5 problems)');
        for (const key of ["adminCidrs", "domain", "domainAliases", "acmeEmail", "adminSshPublicKeys"]) expect(r.error).toContain(`webapp:${key}:`);
        expect(r.error).toContain("fix: pulumi config rm webapp:adminCidrs --stack prod && pulumi config set --path 'webapp:adminCidrs[0]'");
        // Nothing was planned: the program stopped while reading its config.
        expect(steps(r).filter((s) => s.op === "create" && !s.type.startsWith("pulumi:"))).toEqual([]);
        // The drift check (.github/workflows/drift.yml) reads any exit code but 0 and 7 as "the check failed".
        expect(r.exitCode).toBeDefined();
        expect([0, 7]).not.toContain(r.exitCode);
    });
});

describe("the exit codes the drift check relies on", () => {
    test("--expect-no-changes with changes proposed exits 7, which the drift check reads as drift", async () => {
        engine.forget("staging");
        const r = await engine.run({ stack: "staging", op: "preview", config: ownValues("staging"), expectNoChanges: true });
        expect(r.ok).toBe(false);
        expect(r.error).toContain("no changes were expected for preview but changes were proposed");
        expect(r.exitCode).toBe(7);
    });
});

describe("the pack installs and runs on its own", () => {
    test("a copy outside the repository, installed from its own lockfile, blocks an insecure preview", async () => {
        const copy = fs.mkdtempSync(path.join(os.tmpdir(), "pack-copy-"));
        for (const f of ["package.json", "package-lock.json", "PulumiPolicy.yaml"]) fs.copyFileSync(path.join(ROOT, "policies", f), path.join(copy, f));
        fs.cpSync(path.join(ROOT, "policies", "dist"), path.join(copy, "dist"), { recursive: true });
        try {
            const install = spawnSync("npm", ["ci", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"], { cwd: copy, encoding: "utf8" });
            expect({ status: install.status, stderr: install.status ? install.stderr : "" }).toEqual({ status: 0, stderr: "" });
            const env = { WEBAPP_POLICY_PACK_DIR: copy };
            const c = configured({ name: "backups without an off-site copy", stack: "prod", config: { "webapp:offsiteBackup": "false" } });
            engine.forget(c.stack);
            const r = await engine.run({ stack: c.stack, op: "preview", config: c.config, env });
            expect(r.ok).toBe(false);
            expect(policyEvents(r).filter((p) => p.enforcementLevel === "mandatory").map((p) => p.policyName)).toContain("bk-5-offsite-backups-in-prod");
        } finally {
            fs.rmSync(copy, { recursive: true, force: true });
        }
    });
});
