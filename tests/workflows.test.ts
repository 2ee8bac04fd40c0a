/**
 * The GitHub workflows for the users' repository, checked by actionlint (built by .ci/run) and for the properties
 * a platform team expects: pinned actions, least-privilege permissions, one update per stack at a time, prod
 * behind an approval applying the previewed plan.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { CACHE } from "./engine/engine";
import { run } from "./helpers";

const dir = path.join(__dirname, "..", ".github", "workflows");
const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yml"));
const workflow = (f: string) => parse(fs.readFileSync(path.join(dir, f), "utf8"));
const actionlint = process.env.ACTIONLINT ?? path.join(CACHE, "go", "bin", "actionlint");

describe("actionlint", () => {
    test("accepts every workflow", () => {
        expect(fs.existsSync(actionlint)).toBe(true); // .ci/run builds it
        const res = run(actionlint, ["-no-color", "-oneline", ...files.map((f) => path.join(dir, f))]);
        expect({ status: res.status, errors: res.stdout }).toEqual({ status: 0, errors: "" });
    });

    test("rejects a broken workflow, so the check above can fail", () => {
        const broken = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "wf-")), "broken.yml");
        fs.writeFileSync(broken, fs.readFileSync(path.join(dir, "deploy.yml"), "utf8").replace("runs-on: ubuntu-24.04", "runs-on: ubuntu-24.04\n    if: secrets.PULUMI_ACCESS_TOKEN != ''"));
        const res = run(actionlint, ["-no-color", "-oneline", broken]);
        expect(res.status).toBe(1);
        expect(res.stdout).toMatch(/context "secrets" is not allowed here/);
    });
});

type Step = { id?: string; name?: string; run?: string; uses?: string; if?: string; env?: Record<string, string>; with?: Record<string, string> };
type Job = { "runs-on": string | string[]; strategy?: { matrix: Record<string, string[]> }; environment?: string; needs?: string; if?: string; permissions?: Record<string, string>; concurrency?: { group: string; "cancel-in-progress": boolean }; env?: Record<string, string>; steps: Step[]; container?: { image: string } };
const jobs = (f: string) => Object.entries(workflow(f).jobs as Record<string, Job>);
const allJobs = () => files.flatMap((f) => jobs(f).map(([name, job]) => ({ f, name, job, text: JSON.stringify(job) })));
const runOf = (job: Job) => job.steps.map((s) => s.run ?? "").join("\n");

/** Runs one step's shell script as the runner would (bash -e), with stand-ins for `pulumi` and `npm` on PATH. */
function runStep(script: string, stubs: Record<string, string>, env: Record<string, string>) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "step-"));
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    for (const [name, body] of Object.entries(stubs)) fs.writeFileSync(path.join(bin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
    const out = path.join(dir, "github-output");
    fs.writeFileSync(out, "");
    const res = run("bash", ["-e", "-c", script], { cwd: dir, env: { ...process.env, ...env, PATH: `${bin}:${process.env.PATH}`, GITHUB_OUTPUT: out } });
    const outputs = Object.fromEntries(fs.readFileSync(out, "utf8").split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    return { status: res.status, stderr: res.stderr, outputs, dir };
}

describe("what the workflows promise", () => {
    test("every action is pinned to a full commit SHA", () => {
        for (const f of files) {
            const uses = [...fs.readFileSync(path.join(dir, f), "utf8").matchAll(/uses: (\S+)/g)].map((m) => m[1]);
            expect(uses.length).toBeGreaterThan(0);
            for (const u of uses) expect({ f, u }).toEqual({ f, u: expect.stringMatching(/@[0-9a-f]{40}$/) });
        }
    });

    test("permissions are read-only by default and widened per job only where needed", () => {
        for (const f of files) expect({ f, permissions: workflow(f).permissions }).toEqual({ f, permissions: { contents: "read" } });
        expect(workflow("pull-request.yml").jobs.plan.permissions).toEqual({ contents: "read", "pull-requests": "write", "security-events": "write", actions: "read" });
        expect(workflow("drift.yml").jobs.drift.permissions).toEqual({ contents: "read", issues: "write", "id-token": "write" });
        // An OIDC token only where an environment scopes what it can be exchanged for.
        for (const { f, name, job } of allJobs()) if (job.permissions?.["id-token"]) expect({ f, name, environment: job.environment }).toEqual({ f, name, environment: expect.any(String) });
    });

    test("no long-lived cloud keys; every secret is an environment's, and prod's only reach the approved job", () => {
        for (const f of files) expect({ f, keys: fs.readFileSync(path.join(dir, f), "utf8").match(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|PULUMI_ACCESS_TOKEN/g) }).toEqual({ f, keys: null });
        for (const { f, name, job, text } of allJobs()) {
            if (/secrets\.|id-token/.test(text)) expect({ f, name, environment: job.environment }).toEqual({ f, name, environment: expect.any(String) });
        }
        const production = allJobs().filter(({ job }) => job.environment === "production");
        expect(production.map(({ f, name }) => `${f}:${name}`)).toEqual(["deploy.yml:prod"]);
        // The job the approver reads has no credentials at all.
        const plan = workflow("deploy.yml").jobs["prod-plan"] as Job;
        expect({ environment: plan.environment, secrets: /secrets\./.test(JSON.stringify(plan)) }).toEqual({ environment: undefined, secrets: false });
    });

    test("pull requests: forks get no job with credentials; same-repo branches preview staging only, never prod", () => {
        const preview = workflow("pull-request.yml").jobs.preview as Job;
        expect(preview.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
        expect(preview.environment).toBe("preview");
        expect(preview.steps.find((s) => s.uses?.startsWith("pulumi/actions@"))?.with).toMatchObject({ command: "preview", "stack-name": "staging", policyPacks: "policies", policyPackConfigs: "policies/config/staging.json" });
        expect(JSON.stringify(preview)).not.toMatch(/\bprod\b|production/);
        for (const [name, job] of jobs("pull-request.yml")) if (name !== "preview") expect({ name, creds: /secrets\.|id-token/.test(JSON.stringify(job)) }).toEqual({ name, creds: false });
    });

    test("the jobs that reach the servers (apply, verify) run inside an admin network (the self-hosted deploy runner); the rest on GitHub's runners", () => {
        for (const { f, name, job } of allJobs()) {
            const reaches = /pulumi up\b|npm run -s verify\b/.test(runOf(job));
            expect({ f, name, runsOn: job["runs-on"] }).toEqual({ f, name, runsOn: reaches ? ["self-hosted", "linux", "webapp-deploy"] : "ubuntu-24.04" });
        }
    });

    test("the daily host verification files one issue per host, drift apart from an unreachable host, and fails the run", () => {
        const hosts = workflow("drift.yml").jobs.hosts;
        expect(runOf(hosts)).toMatch(/npm run -s verify -- --stack "\$STACK" --format json --output verify\.json/);
        const script = hosts.steps.find((s: { uses?: string }) => s.uses?.startsWith("actions/github-script")).with.script as string;
        expect(script).toContain("Host drift on ${h.id} (stack ${STACK})");
        expect(script).toContain("Host ${h.id} unreachable (stack ${STACK})");
        expect(hosts.concurrency).toEqual({ group: "verify-${{ matrix.stack }}", "cancel-in-progress": false });
        expect(hosts.steps.at(-1).if).toBe("steps.verify.outputs.code != '0'");
    });

    test("deploys are never cancelled: one group per stack without cancel-in-progress, and drift checks in groups of their own", () => {
        const deploy = workflow("deploy.yml").jobs;
        expect(deploy.staging.concurrency).toEqual({ group: "deploy-staging", "cancel-in-progress": false });
        expect(deploy.prod.concurrency).toEqual({ group: "deploy-prod", "cancel-in-progress": false });
        expect(workflow("drift.yml").jobs.drift.concurrency).toEqual({ group: "drift-${{ matrix.stack }}", "cancel-in-progress": false });
        expect(workflow("deploy.yml").concurrency).toBeUndefined();
    });

    test("prod waits for the production environment's approval, after a credential-free plan in the job summary", () => {
        const deploy = workflow("deploy.yml").jobs;
        expect(deploy.prod.environment).toBe("production");
        expect(deploy.prod.needs).toBe("prod-plan");
        expect(deploy["prod-plan"].needs).toBe("staging");
        const summary = runOf(deploy["prod-plan"]);
        expect(summary).toMatch(/npm run -s plan -- --stack prod --format markdown --output plan-prod\.md/);
        expect(summary).toMatch(/cat plan-prod\.md >> "\$GITHUB_STEP_SUMMARY"/);
        const apply = runOf(deploy.prod);
        expect(apply).toMatch(/pulumi preview --stack prod --save-plan prod-plan\.json --policy-pack policies --policy-pack-config policies\/config\/prod\.json/);
        expect(apply).toMatch(/pulumi up --stack prod --yes --plan prod-plan\.json --policy-pack policies/);
        // Staging too: the pack stops a change in the preview, before any step runs (never --skip-preview).
        expect(runOf(deploy.staging)).toMatch(/pulumi preview --stack staging --save-plan staging-plan\.json --policy-pack policies --policy-pack-config policies\/config\/staging\.json[^\n]*\n\s*pulumi up --stack staging --yes --plan staging-plan\.json --policy-pack policies/);
        for (const f of files) expect({ f, skips: /skip-preview|command: up\b/.test(fs.readFileSync(path.join(dir, f), "utf8").replace(/^\s*#.*$/gm, "")) }).toEqual({ f, skips: false });
    });

    test("prod refuses to apply across a rotation boundary the approval did not cover", () => {
        const step = (workflow("deploy.yml").jobs.prod as Job).steps.find((s) => /rotation boundary/.test(s.name ?? ""))!;
        expect(step.env).toEqual({ APPROVED: "${{ needs.prod-plan.outputs.generation }}" });
        const npm = (generation: number) => ({ npm: `echo generation=${generation}; echo next=2026-12-03T00:00:00.000Z` });
        expect(runStep(step.run!, npm(230), { APPROVED: "230" }).status).toBe(0);
        const crossed = runStep(step.run!, npm(231), { APPROVED: "230" });
        expect(crossed.status).toBe(1);
        expect(crossed.stderr).toContain("prod's secrets rotated since the approval (generation 230 -> 231)");
    });

    test("pull requests: the plan's report is commented and summarised even when the plan failed (no stale green)", () => {
        const plan = workflow("pull-request.yml").jobs.plan as Job;
        expect(plan.strategy?.matrix.stack).toEqual(["staging", "prod"]);
        const comment = plan.steps.find((s) => s.uses?.startsWith("actions/github-script@"))!;
        expect(comment.if).toBe("always()");
        expect(comment.with?.script).toContain("The plan crashed before it wrote a report");
        expect(comment.with?.script).toContain("core.summary.addRaw(`${verdict}\\n${changes}`)");
        // The change summary: the base checked out beside the head (its code, without credentials), both planned
        // with --files, compared by plan-diff (tests/plan-files.test.ts), and added to the comment.
        const base = plan.steps.find((s) => s.uses?.startsWith("actions/checkout@") && s.with?.path === ".base")!;
        expect(base.with).toEqual({ ref: "${{ github.event.pull_request.base.sha }}", path: ".base", "persist-credentials": false });
        const diff = plan.steps.find((s) => s.name === "Changes against the base branch")!.run!;
        expect(diff).toMatch(/--files head-files/);
        expect(diff).toMatch(/--files "\$GITHUB_WORKSPACE\/base-files"/);
        expect(diff).toContain('npm run -s plan-diff -- base.json base-files head.json head-files > "diff-$STACK.md"');
        expect(comment.with?.script).toContain("diff-${stack}.md");
        expect(plan.steps.find((s) => s.uses?.startsWith("github/codeql-action/upload-sarif@"))?.if).toBe("always() && hashFiles(format('plan-{0}.sarif', matrix.stack)) != ''");
    });

    test("the users' workflows run Node 22 or 24 (the tests here stay on Node 20)", () => {
        for (const { f, name, job } of allJobs()) {
            for (const s of job.steps.filter((x) => x.uses?.startsWith("actions/setup-node@"))) expect({ f, name, node: String(s.with?.["node-version"]) }).toEqual({ f, name, node: expect.stringMatching(/^(22|24)$/) });
            if (job.container) expect(job.container.image).toMatch(/^node:(22|24)-bookworm$/);
        }
        expect(JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8")).engines.node).toBe(">=20");
    });

    test("every Pulumi CLI the workflows install is the version the engine tests build (tools/pulumi/version)", () => {
        const version = fs.readFileSync(path.join(__dirname, "..", "tools", "pulumi", "version"), "utf8").trim();
        expect(version).toMatch(/^\d+\.\d+\.\d+$/);
        // The tools module builds exactly that version of the CLI.
        expect(fs.readFileSync(path.join(__dirname, "..", "tools", "pulumi", "go.mod"), "utf8")).toMatch(new RegExp(`^require github\\.com/pulumi/pulumi/pkg/v3 v${version.replace(/\./g, "\\.")}$`, "m"));
        const installs = allJobs().flatMap(({ job }) => job.steps.filter((s) => s.uses?.startsWith("pulumi/actions@")));
        expect(installs.length).toBeGreaterThan(0);
        for (const s of installs) expect(s.with?.["pulumi-version-file"]).toBe("tools/pulumi/version");
        // Every job that calls the CLI installs it first, from that file (a runner's own CLI is never used).
        for (const { f, name, job } of allJobs()) {
            const calls = job.steps.findIndex((s) => /\bpulumi (preview|up|stack)\b/.test(s.run ?? ""));
            const install = job.steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@"));
            if (calls >= 0) expect({ f, name, installedBefore: install >= 0 && install < calls }).toEqual({ f, name, installedBefore: true });
        }
    });
});

describe("the drift check tells drift from an error and from a due rotation", () => {
    const step = () => (workflow("drift.yml").jobs.drift as Job).steps.find((s) => s.id === "drift")!;
    const check = (o: { deployed?: number; outputCode?: number; previewCode: number; current?: number }) =>
        runStep(
            step().run!,
            {
                npm: `echo generation=${o.current ?? 230}`,
                pulumi: `if [ "$1" = stack ]; then [ ${o.outputCode ?? 0} = 0 ] && echo ${o.deployed ?? 230}; exit ${o.outputCode ?? 0}; fi\necho "preview pinned at $WEBAPP_ROTATION_GENERATION"; exit ${o.previewCode}`,
            },
            { STACK: "prod" },
        );

    test.each([
        ["no changes", { previewCode: 0 }, "clean"],
        ["changes proposed (the CLI's exit code 7)", { previewCode: 7 }, "drift"],
        ["an expired token (exit code 3)", { previewCode: 3 }, "error"],
        ["any other failure", { previewCode: 1 }, "error"],
        ["the stack's outputs cannot be read", { outputCode: 6, previewCode: 0 }, "error"],
    ])("%s: %s", (_name, o, outcome) => {
        const res = check(o);
        expect(res.status).toBe(0);
        expect(res.outputs.outcome).toBe(outcome);
    });

    test("the preview runs at the last deploy's generation, and a newer current one is reported as a due rotation", () => {
        const res = check({ deployed: 229, current: 230, previewCode: 0 });
        expect(res.outputs).toMatchObject({ outcome: "clean", deployed: "229", current: "230" });
        expect(fs.readFileSync(path.join(res.dir, "drift.txt"), "utf8")).toContain("preview pinned at 229");
        const script = (workflow("drift.yml").jobs.drift as Job).steps.find((s) => s.uses?.startsWith("actions/github-script@"))!.with!.script;
        expect(script).toContain("Secret rotation due in stack ${STACK}");
        expect(script).toContain("Drift check failed for stack ${STACK}");
        expect(script).toContain("Drift detected in stack ${STACK}");
    });
});
