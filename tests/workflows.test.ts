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

describe("what the workflows promise", () => {
    test("every action is pinned to a commit SHA or an exact version", () => {
        for (const f of files) {
            const uses = [...fs.readFileSync(path.join(dir, f), "utf8").matchAll(/uses: (\S+)/g)].map((m) => m[1]);
            expect(uses.length).toBeGreaterThan(0);
            for (const u of uses) expect({ f, u }).toEqual({ f, u: expect.stringMatching(/@([0-9a-f]{40}|v\d+\.\d+\.\d+)$/) });
        }
    });

    test("permissions are read-only by default and widened per job only where needed", () => {
        for (const f of files) expect({ f, permissions: workflow(f).permissions }).toEqual({ f, permissions: expect.objectContaining({ contents: "read" }) });
        expect(workflow("pull-request.yml").jobs.plan.permissions).toEqual({ contents: "read", "pull-requests": "write", "security-events": "write" });
        expect(workflow("drift.yml").permissions).toEqual({ contents: "read", issues: "write" });
    });

    test("updates of one stack never run at once", () => {
        const deploy = workflow("deploy.yml").jobs;
        expect(deploy.staging.concurrency).toEqual({ group: "pulumi-staging", "cancel-in-progress": false });
        expect(deploy["prod-preview"].concurrency.group).toBe("pulumi-prod");
        expect(deploy.prod.concurrency.group).toBe("pulumi-prod");
        expect(workflow("drift.yml").jobs.drift.concurrency.group).toBe("pulumi-${{ matrix.stack }}");
    });

    test("prod waits for the production environment's approval and applies the plan that was previewed", () => {
        const deploy = workflow("deploy.yml").jobs;
        expect(deploy.prod.environment).toBe("production");
        expect(deploy.prod.needs).toBe("prod-preview");
        const preview = deploy["prod-preview"].steps.map((s: { run?: string }) => s.run ?? "").join("\n");
        const apply = deploy.prod.steps.map((s: { run?: string }) => s.run ?? "").join("\n");
        expect(preview).toMatch(/pulumi preview --stack prod --save-plan prod-plan\.json --policy-pack policies --policy-pack-config policies\/config\/prod\.json/);
        expect(apply).toMatch(/pulumi up --stack prod --yes --plan prod-plan\.json --policy-pack policies/);
        // Staging too: the pack stops a change in the preview, before any step runs (never --skip-preview).
        const staging = deploy.staging.steps.map((s: { run?: string }) => s.run ?? "").join("\n");
        expect(staging).toMatch(/pulumi preview --stack staging --save-plan staging-plan\.json --policy-pack policies --policy-pack-config policies\/config\/staging\.json[^\n]*\n\s*pulumi up --stack staging --yes --plan staging-plan\.json --policy-pack policies/);
        for (const f of files) expect({ f, skips: /skip-preview|command: up\b/.test(fs.readFileSync(path.join(dir, f), "utf8").replace(/^\s*#.*$/gm, "")) }).toEqual({ f, skips: false });
    });

    test("pull requests run the offline plan per stack, fail on mandatory violations, and preview with the pack", () => {
        const pr = workflow("pull-request.yml").jobs;
        expect(pr.plan.strategy.matrix.stack).toEqual(["staging", "prod"]);
        expect(pr.plan.steps.map((s: { uses?: string }) => s.uses ?? "").join(" ")).toMatch(/upload-sarif/);
        expect(pr.preview.steps.find((s: { uses?: string }) => s.uses?.startsWith("pulumi/actions"))?.with).toMatchObject({ command: "preview", policyPacks: "policies", "comment-on-pr": true });
    });

    test("secrets come only from the repository's secret store", () => {
        for (const f of files) {
            const text = fs.readFileSync(path.join(dir, f), "utf8");
            for (const m of text.matchAll(/(PULUMI_ACCESS_TOKEN|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY): (.+)/g)) expect(m[2]).toBe(`\${{ secrets.${m[1]} }}`);
        }
    });

    test("every Pulumi CLI the workflows install is the version the engine tests build (tools/pulumi/version)", () => {
        const version = fs.readFileSync(path.join(__dirname, "..", "tools", "pulumi", "version"), "utf8").trim();
        expect(version).toMatch(/^\d+\.\d+\.\d+$/);
        // The tools module builds exactly that version of the CLI.
        expect(fs.readFileSync(path.join(__dirname, "..", "tools", "pulumi", "go.mod"), "utf8")).toMatch(new RegExp(`^require github\\.com/pulumi/pulumi/pkg/v3 v${version.replace(/\./g, "\\.")}$`, "m"));
        let uses = 0;
        for (const f of files) {
            for (const job of Object.values(workflow(f).jobs) as { steps: { id?: string; run?: string; uses?: string; with?: Record<string, string> }[] }[]) {
                const cli = job.steps.findIndex((s) => s.id === "cli");
                job.steps.forEach((s, i) => {
                    if (!s.uses?.startsWith("pulumi/actions@")) return;
                    uses++;
                    expect({ f, pulumiVersion: s.with?.["pulumi-version"] }).toEqual({ f, pulumiVersion: "${{ steps.cli.outputs.version }}" });
                    expect(cli).toBeGreaterThanOrEqual(0);
                    expect(cli).toBeLessThan(i);
                    expect(job.steps[cli].run).toBe('echo "version=$(cat tools/pulumi/version)" >> "$GITHUB_OUTPUT"');
                });
            }
        }
        expect(uses).toBe(5);
    });
});
