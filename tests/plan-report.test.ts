/**
 * The offline plan's policy reports (text, Markdown, JSON, SARIF) and its verdict on insecure changes to the
 * prod stack, through `npm run plan` as CI and users run it.
 */
import "@microsoft/jest-sarif";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { outputFindings } from "../plan/config-findings";
import { evaluate } from "../plan/evaluate";
import type { PlanRun } from "../plan/run";
import { render, ReportInput } from "../plan/report";
import { ALL_POLICIES } from "../policies/catalog";
import { packConfig } from "../policies/pack-config";
import { planCli, run, runStack } from "./helpers";
import { clone, res } from "./support/policy";

const ROOT = path.join(__dirname, "..");
const plan = planCli;

let prod: PlanRun;
let report: ReportInput;
beforeAll(async () => {
    prod = await runStack("prod");
    // One violation and one waived finding, so every format shows both kinds.
    const broken = clone(prod);
    res(broken, "web-server-0").inputs.backups = false;
    res(broken, "app-db-password").inputs.length = 16;
    const config = packConfig("prod");
    const tomorrow = new Date(Date.now() + 86400000).toISOString().slice(0, 10);
    const waiver = { control: "PROT-2", resource: "web-server-0", reason: "snapshots are taken by the storage team", owner: "ops@example.com", expires: tomorrow };
    for (const entry of Object.values(config)) if (typeof entry === "object") entry.waivers = [waiver];
    report = { project: "webapp", stack: "prod", evaluation: evaluate(broken, ALL_POLICIES, config), policies: ALL_POLICIES, resourceCount: broken.resources.length };
});

describe("report formats", () => {
    test("text: a verdict line, each finding with its control, the waivers", () => {
        const text = render("text", report);
        expect(text.split("\n")[0]).toBe(`Policy checks for webapp/prod: ${ALL_POLICIES.length} policies over 58 resources: 1 mandatory, 0 advisory, 1 waived -> FAILED`);
        expect(text).toContain("[mandatory] SEC-1 sec-1-strong-generated-secrets on app-db-password (random:index/randomPassword:RandomPassword): length 16 < 32");
        expect(text).toMatch(/\[waived\] PROT-2 prot-2-provider-backups on web-server-0 .*\(waiver: snapshots are taken by the storage team; owner ops@example\.com; until \d{4}-\d\d-\d\d\)/);
        expect(text).toMatch(/Waivers:\n {2}PROT-2 on web-server-0 until/);
    });

    test("Markdown: a table of findings and a table of waivers, for PR comments", () => {
        const md = render("markdown", report);
        expect(md).toMatch(/^### ❌ Security checklist: `webapp\/prod`/);
        expect(md).toMatch(/\| Control \| Level +\| Policy +\| Resource +\| Finding +\|/);
        expect(md).toMatch(/\| SEC-1 +\| mandatory +\| `sec-1-strong-generated-secrets` +\| app-db-password \(random:index\/randomPassword:RandomPassword\) +\| length 16 < 32/);
        expect(md).toMatch(/#### Waivers\n\n\| Control \| Resource +\| Owner/);
    });

    test("JSON: the same findings and waivers for tools", () => {
        const json = JSON.parse(render("json", report));
        expect(json.summary).toEqual({ mandatory: 1, advisory: 0, waived: 1, policies: ALL_POLICIES.length, passed: false });
        expect(json.findings.map((f: { checklistId: string }) => f.checklistId).sort()).toEqual(["PROT-2", "SEC-1"]);
        expect(json.waivers).toHaveLength(1);
    });

    test("SARIF 2.1.0, valid against its schema; the waived finding is an accepted suppression", () => {
        const sarif = JSON.parse(render("sarif", report));
        expect(sarif).toBeValidSarifLog();
        const results = sarif.runs[0].results as { ruleId: string; level: string; suppressions?: { status: string }[]; locations: { logicalLocations?: { name: string }[] }[] }[];
        expect(results.map((r) => [r.ruleId, r.level, r.suppressions?.[0]?.status ?? "none"]).sort()).toEqual([
            ["prot-2-provider-backups", "error", "accepted"],
            ["sec-1-strong-generated-secrets", "error", "none"],
        ]);
        expect(sarif.runs[0].tool.driver.rules).toHaveLength(ALL_POLICIES.length);
        expect(results.map((r) => r.locations[0].logicalLocations?.[0].name).sort()).toEqual(["app-db-password", "web-server-0"]);
    });

    test("a broken SARIF log is caught by the same schema check", () => {
        const sarif = JSON.parse(render("sarif", report));
        sarif.runs[0].results[0].level = "fatal";
        expect(sarif).not.toBeValidSarifLog();
    });
});

describe("what policies cannot see", () => {
    test("a generated secret exported in plain text is a SEC-5 finding; marked secret it is not", () => {
        const run = clone(prod);
        const secret = (res(run, "app-db-password").outputs.result as { value: string }).value;
        expect(outputFindings(run, "mandatory")).toEqual([]);
        run.outputs.databaseUrl = `postgresql://webapp:${secret}@localhost/webapp`;
        expect(outputFindings(run, "mandatory")).toEqual([expect.objectContaining({ checklistId: "SEC-5", message: expect.stringMatching(/stack output databaseUrl shows a generated secret in plain text/) })]);
        run.outputs.databaseUrl = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: run.outputs.databaseUrl };
        expect(outputFindings(run, "mandatory")).toEqual([]);
    });
});

describe("npm run plan with reports", () => {
    test("the shipped prod stack passes and writes a SARIF file", () => {
        const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "report-")), "prod.sarif");
        const res = plan("--stack", "prod", "--format", "sarif", "--output", out);
        expect(res.status).toBe(0);
        expect(res.stdout).toContain(`Policy checks for webapp/prod: ${ALL_POLICIES.length} policies over 58 resources: 0 mandatory, 0 advisory, 0 waived -> PASSED`);
        expect(JSON.parse(fs.readFileSync(out, "utf8"))).toBeValidSarifLog();
    });

    test("Markdown on stdout for a PR comment", () => {
        const res = plan("--stack", "staging", "--format", "markdown");
        expect(res.status).toBe(0);
        expect(res.stdout).toMatch(/^### ✅ Security checklist: `webapp\/staging`/);
        expect(res.stdout).toContain("| BK-2    | advisory");
    });

    test("the levels come from the file pulumi preview --policy-pack-config reads: raising one there fails the plan", () => {
        const staging = JSON.parse(fs.readFileSync(path.join(ROOT, "policies", "config", "staging.json"), "utf8"));
        expect(staging["bk-2-backup-retention"].enforcementLevel).toBe("advisory");
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pack-config-")), "staging.json");
        fs.writeFileSync(file, JSON.stringify({ ...staging, "bk-2-backup-retention": { ...staging["bk-2-backup-retention"], enforcementLevel: "mandatory" } }));
        const res = plan("--stack", "staging", "--policy-pack-config", file);
        expect(res.status).toBe(1);
        expect(res.stdout).toMatch(/\[mandatory\] BK-2 bk-2-backup-retention on backups-timers/);
        expect(res.stdout).toMatch(/-> FAILED/);
        expect(plan("--stack", "staging", "--policy-pack-config", `${file}.missing`).stderr).toContain("--policy-pack-config: no file");
    });

    test("a rejected configuration writes a red report in the requested format, never nothing (no stale green comment)", () => {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "report-"));
        const md = plan("--stack", "prod", "--config", "webapp:sshPort=23", "--format", "markdown", "--output", path.join(out, "prod.md"));
        expect(md.status).toBe(1);
        const comment = fs.readFileSync(path.join(out, "prod.md"), "utf8");
        expect(comment).toMatch(/^### ❌ Security checklist: `webapp\/prod`\n\nThe plan of webapp\/prod failed before the policies ran; nothing was judged\./);
        expect(comment).toContain("webapp:sshPort");
        const sarifRun = plan("--stack", "prod", "--config", "webapp:sshPort=23", "--format", "sarif", "--output", path.join(out, "prod.sarif"));
        expect(sarifRun.status).toBe(1);
        const sarif = JSON.parse(fs.readFileSync(path.join(out, "prod.sarif"), "utf8"));
        expect(sarif).toBeValidSarifLog();
        expect(sarif.runs[0].results.map((r: { ruleId: string; level: string; message: { text: string } }) => [r.ruleId, r.level, /webapp:sshPort/.test(r.message.text)])).toEqual([["plan-failed", "error", true]]);
        const json = plan("--stack", "prod", "--config", "webapp:sshPort=23", "--format", "json");
        expect(JSON.parse(json.stdout)).toMatchObject({ stack: "prod", summary: { passed: false }, error: expect.stringContaining("webapp:sshPort") });
    });

    test("SARIF a user can click: the stack file's line of the key that causes a finding, else the component's class; stable fingerprints; rules with help", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sarif-"));
        const runs = [1, 2].map((i) => {
            const out = path.join(dir, `${i}.sarif`);
            expect(plan("--stack", "prod", "--config", "webapp:backupRetentionDailyDays=7", "--format", "sarif", "--output", out).status).toBe(1);
            return JSON.parse(fs.readFileSync(out, "utf8"));
        });
        expect(runs[0]).toBeValidSarifLog();
        const results = runs[0].runs[0].results as { ruleId: string; message: { text: string }; partialFingerprints: Record<string, string>; locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } }; logicalLocations?: { name: string; kind: string }[] }[] }[];
        const line = (file: string, n: number) => fs.readFileSync(path.join(ROOT, file), "utf8").split("\n")[n - 1];
        // Caused by a config key the message names: the stack file's line of that key.
        const retention = results.find((r) => /keeps daily backups 7 days/.test(r.message.text))!;
        const at = retention.locations[0].physicalLocation;
        expect(at.artifactLocation.uri).toBe("Pulumi.prod.yaml");
        expect(line("Pulumi.prod.yaml", at.region.startLine)).toMatch(/^\s*webapp:backupRetentionDailyDays:/);
        expect(retention.locations[0].logicalLocations).toEqual([expect.objectContaining({ name: "backups-timers", kind: "resource" }), { name: "/usr/local/lib/webapp/backup", kind: "hostFile" }]);
        // The message names the resource once.
        expect(retention.message.text).toBe("BK-2: backups-timers: /usr/local/lib/webapp/backup keeps daily backups 7 days; keep them >= 30 (webapp:backupRetentionDailyDays).");
        // No key named: the component that owns the resource, at its class.
        const lifecycle = results.find((r) => /expires daily copies/.test(r.message.text))!.locations[0].physicalLocation;
        expect(lifecycle.artifactLocation.uri).toBe("components/offsite-bucket.ts");
        expect(line("components/offsite-bucket.ts", lifecycle.region.startLine)).toMatch(/^export class OffsiteBucket\b/);
        // The same problem keeps its fingerprint from run to run.
        expect(runs[1].runs[0].results.map((r: { partialFingerprints: unknown }) => r.partialFingerprints)).toEqual(results.map((r) => r.partialFingerprints));
        expect(new Set(results.map((r) => r.partialFingerprints["webappFinding/v1"])).size).toBe(results.length);
        const driver = runs[0].runs[0].tool.driver;
        expect(driver.informationUri).toMatch(/\/docs\/checklist\.md$/);
        const rule = driver.rules.find((r: { id: string }) => r.id === "bk-2-backup-retention");
        expect(rule.helpUri).toMatch(/\/docs\/policies\.md#bk-2-backup-retention$/);
        expect(rule.help.markdown).toContain("**Fix:**");
        expect(fs.readFileSync(path.join(ROOT, "docs", "policies.md"), "utf8")).toContain('<a id="bk-2-backup-retention"></a>');
    });

    test("the Markdown report opens with the component graph, the nodes with findings marked", () => {
        const res = plan("--stack", "prod", "--config", "webapp:protect=false", "--format", "markdown");
        expect(res.stdout).toMatch(/^### ❌ Security checklist: `webapp\/prod`\n\n.*\n\n```mermaid\ngraph TD\n/);
        const graph = res.stdout.slice(res.stdout.indexOf("```mermaid"), res.stdout.indexOf("```\n", res.stdout.indexOf("```mermaid") + 3));
        expect(graph).toMatch(/\["Server web-server-0 ⚠ PROT-1, PROT-3"\]:::finding/);
        expect(graph).toMatch(/\["Firewall web-firewall"\]\n/);
        expect(graph).toMatch(/-- "audit, baseline, fail2ban, firewall, monitoring, packages, ssh, sysctl, upgrades, users" --> n\d+/);
        expect(graph).toContain("classDef finding");
    });

    test("--help goes to stdout with the exit codes, and exits 0", () => {
        const res = plan("--help");
        expect(res.status).toBe(0);
        expect(res.stderr).toBe("");
        expect(res.stdout).toMatch(/^usage: npm run plan/);
        expect(res.stdout).toMatch(/Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 +a usage error/);
    });

    test("without --stack, --format json is one document with every stack, its resources and outputs", () => {
        const res = plan("--format", "json");
        expect(res.status).toBe(0);
        const doc = JSON.parse(res.stdout);
        expect(doc.stacks.map((s: { stack: string }) => s.stack)).toEqual(["prod", "staging"]);
        const prodDoc = doc.stacks[0];
        expect(prodDoc.resources).toContainEqual({ urn: expect.stringMatching(/::proxy-0-nginx$/), type: "command:remote:Command", name: "proxy-0-nginx", parent: expect.stringMatching(/webapp:proxy:ReverseProxy::proxy-0$/), digest: expect.stringMatching(/^[0-9a-f]{16}$/) });
        expect(prodDoc.outputs).toMatchObject({ environment: "prod", url: "https://app.example.com" });
        expect(JSON.stringify(prodDoc.outputs)).not.toMatch(/-----BEGIN/);
    });

    test("on a terminal: lines fit 120 columns and levels are in colour; piped, neither", () => {
        const env = { ...process.env, COLUMNS: "120", FORCE_COLOR: "1" };
        const res = run(process.execPath, [path.join(ROOT, "node_modules", ".bin", "ts-node"), "--swc", "plan/cli.ts", "--stack", "prod", "--config", "webapp:protect=false"], { cwd: ROOT, env });
        const visible = res.stdout.split("\n").map((l) => l.replace(/\x1b\[[0-9;]*m/g, ""));
        expect(Math.max(...visible.map((l) => l.length))).toBeLessThanOrEqual(120);
        expect(res.stdout).toContain("\x1b[31m[mandatory]\x1b[39m");
        const piped = plan("--stack", "prod", "--config", "webapp:protect=false");
        expect(piped.stdout).not.toContain("\x1b[");
        expect(Math.max(...piped.stdout.split("\n").map((l) => l.length))).toBeGreaterThan(120);
    });

    test("--output without --stack is a usage error", () => {
        const res = plan("--output", "x.sarif");
        expect(res.status).toBe(2);
        expect(res.stderr).toContain("--output needs --stack");
    });
});

describe("insecure changes to the prod stack fail the plan, naming the control", () => {
    const PEM = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----";
    test.each([
        ["SSH from the world", "webapp:adminCidrs", '["0.0.0.0/0"]', "NET-1"],
        ["backups without an off-site copy", "webapp:offsiteBackup", "false", "BK-5"],
        ["no protection", "webapp:protect", "false", "PROT-1"],
        ["a provider token in plain text", "hcloud:token", "Jk3-plain-text-token-0123456789abcdef0123456789abcdef", "SEC-2"],
        ["a private key in plain text", "webapp:sshPrivateKey", PEM, "SEC-2"],
        ["secrets only in Pulumi state", "webapp:secretStore", "pulumi", "SEC-3"],
        ["a week of daily backups", "webapp:backupRetentionDailyDays", "7", "BK-2"],
        ["inline scripts allowed", "webapp:contentSecurityPolicy", "default-src 'self'; script-src 'self' 'unsafe-inline'", "HDR-5"],
        ["self-signed certificates", "webapp:tlsMode", "self-signed", "TLS-5"],
    ])("%s (%s)", (_what, key, value, id) => {
        const res = plan("--stack", "prod", "--config", `${key}=${value}`);
        expect(res.status).toBe(1);
        const output = res.stdout + res.stderr;
        expect(output).toMatch(new RegExp(`\\[mandatory\\] ${id} |\\(${id}\\)`));
        if (output.includes("[mandatory]")) expect(output).toMatch(/-> FAILED/);
    });
});
