/**
 * Reports of a plan's policy evaluation: text for terminals, Markdown for pull request comments (markdown-table),
 * JSON for tools, SARIF 2.1.0 for GitHub code scanning (node-sarif-builder). Waived findings appear in every
 * format (SARIF: as accepted external suppressions), and so does every waiver.
 */
import * as path from "path";
import { pathToFileURL } from "url";
import markdownTable from "markdown-table";
import { SarifBuilder, SarifResultBuilder, SarifRuleBuilder, SarifRunBuilder } from "node-sarif-builder";
import type { Policy } from "@pulumi/policy";
import type { ConfigProblem } from "../lib/config-schema";
import { PROJECT } from "../lib/config-schema";
import { blocking, Evaluation, Finding } from "./evaluate";
import { fingerprint, FindingLocation } from "./locations";

export type ReportInput = {
    project: string;
    stack: string;
    evaluation: Evaluation;
    policies: readonly Policy[];
    resourceCount: number;
    /** Example values the stack still has (lib/example-values.ts): listed, not failing the plan; a real preview refuses them. */
    notConfigured?: readonly ConfigProblem[];
    /** Where each finding points in the repository (SARIF locations). Default: the stack file. */
    locate?: (f: Finding) => FindingLocation;
    /** The resources of the run, for the JSON report: URN, type, name, parent. */
    resources?: readonly { urn: string; type: string; name: string; parent?: string }[];
    /** The stack outputs, secrets shown as "[secret]" (JSON report). */
    outputs?: Record<string, unknown>;
    /** A Mermaid diagram of the component graph with the findings marked (plan/graph.ts), opening the Markdown report. */
    diagram?: string;
};

/**
 * A finding's message without the resource's name where the report names the resource already: messages say
 * which step ships a file (`… (proxy-0-nginx): …`) or start with the resource, for policies read on their own.
 */
export function plainMessage(f: Finding): string {
    const name = f.resource?.name;
    if (!name) return f.message;
    const n = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    return f.message.replace(new RegExp(` \\(${n}\\)`, "g"), "").replace(new RegExp(`^${n}(?: \\([^)]*\\))?(: | )`), "");
}

/** Where the docs live for links in reports: the repository on GitHub in Actions, else this checkout. */
function docsBase(): string {
    const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_SHA: sha } = process.env;
    return server && repo ? `${server}/${repo}/blob/${sha ?? "HEAD"}` : pathToFileURL(path.join(__dirname, "..")).href;
}

const NOT_CONFIGURED = "Not yet configured: example values that a real `pulumi preview` or `pulumi up` refuses";
export const FORMATS = ["text", "markdown", "json", "sarif"] as const;
export type Format = (typeof FORMATS)[number];

function summary(e: Evaluation) {
    const active = e.findings.filter((f) => !f.waiver);
    return {
        mandatory: active.filter((f) => f.level === "mandatory").length,
        advisory: active.filter((f) => f.level !== "mandatory").length,
        waived: e.findings.filter((f) => f.waiver).length,
        policies: e.policiesRun,
        passed: blocking(e).length === 0,
    };
}

const where = (f: Finding) => (f.resource ? `${f.resource.name} (${f.resource.type})` : "stack");

export function renderText(r: ReportInput): string {
    const s = summary(r.evaluation);
    const lines = [
        `Policy checks for ${r.project}/${r.stack}: ${s.policies} policies over ${r.resourceCount} resources: ${s.mandatory} mandatory, ${s.advisory} advisory, ${s.waived} waived -> ${s.passed ? "PASSED" : "FAILED"}`,
    ];
    for (const f of r.evaluation.findings) {
        const tag = f.waiver ? "waived" : f.level;
        lines.push(`  [${tag}] ${f.checklistId ?? f.policy} ${f.policy} on ${where(f)}: ${plainMessage(f)}${f.waiver ? ` (waiver: ${f.waiver.reason}; owner ${f.waiver.owner}; until ${f.waiver.expires})` : ""}`);
    }
    if (r.evaluation.waivers.length) {
        lines.push("Waivers:");
        for (const w of r.evaluation.waivers) lines.push(`  ${w.control} on ${w.resource} until ${w.expires}, owner ${w.owner}: ${w.reason}`);
    }
    if (r.notConfigured?.length) {
        lines.push(`${NOT_CONFIGURED}:`);
        for (const p of r.notConfigured) lines.push(`  ${PROJECT}:${p.key}: ${p.message}`, `    fix: ${p.fix}`);
    }
    return lines.join("\n") + "\n";
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function renderMarkdown(r: ReportInput): string {
    const s = summary(r.evaluation);
    const out = [
        `### ${s.passed ? "✅" : "❌"} Security checklist: \`${r.project}/${r.stack}\``,
        "",
        `${s.policies} policies over ${r.resourceCount} resources: **${s.mandatory} mandatory**, ${s.advisory} advisory, ${s.waived} waived.`,
        "",
        ...(r.diagram ? [r.diagram] : []),
    ];
    if (r.evaluation.findings.length) {
        out.push(
            markdownTable([
                ["Control", "Level", "Policy", "Resource", "Finding"],
                ...r.evaluation.findings.map((f) => [f.checklistId ?? "", f.waiver ? `waived until ${f.waiver.expires}` : f.level, `\`${f.policy}\``, cell(where(f)), cell(plainMessage(f))]),
            ]),
            "",
        );
    } else {
        out.push("No findings.", "");
    }
    out.push("#### Waivers", "");
    out.push(
        r.evaluation.waivers.length
            ? markdownTable([["Control", "Resource", "Owner", "Expires", "Reason"], ...r.evaluation.waivers.map((w) => [w.control, cell(w.resource), cell(w.owner), w.expires, cell(w.reason)])])
            : "No active waivers.",
        "",
    );
    if (r.notConfigured?.length) {
        out.push(`#### ${NOT_CONFIGURED}`, "", markdownTable([["Key", "Value", "Fix"], ...r.notConfigured.map((p) => [`\`${PROJECT}:${p.key}\``, cell(p.message), `\`${cell(p.fix)}\``])]), "");
    }
    return out.join("\n");
}

export function renderJson(r: ReportInput): string {
    return (
        JSON.stringify(
            {
                project: r.project,
                stack: r.stack,
                resourceCount: r.resourceCount,
                summary: summary(r.evaluation),
                findings: r.evaluation.findings,
                waivers: r.evaluation.waivers,
                notApplicable: r.evaluation.notApplicable,
                notConfigured: r.notConfigured ?? [],
                resources: r.resources ?? [],
                outputs: r.outputs ?? {},
                elapsedMs: r.evaluation.elapsedMs,
            },
            null,
            2,
        ) + "\n"
    );
}

export function renderSarif(r: ReportInput): string {
    const builder = new SarifBuilder();
    const base = docsBase();
    const run = new SarifRunBuilder().initSimple({ toolDriverName: "webapp-security-checklist", toolDriverVersion: "1.0.0", url: `${base}/docs/checklist.md` });
    for (const p of r.policies) {
        const rule = new SarifRuleBuilder().initSimple({ ruleId: p.name, shortDescriptionText: p.description.split(". ")[0].slice(0, 200), fullDescriptionText: `${p.description} Fix: ${p.remediationSteps ?? ""}`, helpUri: `${base}/docs/policies.md#${p.name}` });
        rule.rule.help = { text: `${p.description}\nFix: ${p.remediationSteps ?? ""}`, markdown: `**${p.name}**: ${p.description}\n\n**Fix:** ${p.remediationSteps ?? ""}\n\n[All policies](${base}/docs/policies.md#${p.name})` };
        rule.rule.properties = { tags: p.tags ?? [], "security-severity": { low: "3.0", medium: "5.5", high: "8.0", critical: "9.5" }[p.severity ?? "medium"] };
        run.addRule(rule);
    }
    for (const f of r.evaluation.findings) {
        const at = r.locate?.(f) ?? { file: `Pulumi.${r.stack}.yaml`, line: 1, logical: f.resource ? [{ name: f.resource.name, fullyQualifiedName: f.urn, kind: "resource" }] : [] };
        const result = new SarifResultBuilder().initSimple({ ruleId: f.policy, level: f.level === "mandatory" ? "error" : "warning", messageText: `${f.checklistId ? `${f.checklistId}: ` : ""}${f.resource ? `${f.resource.name}: ` : ""}${plainMessage(f)}`, fileUri: at.file, startLine: at.line });
        if (at.logical.length) result.result.locations![0].logicalLocations = at.logical;
        result.result.partialFingerprints = { "webappFinding/v1": fingerprint(f) };
        if (f.waiver) result.result.suppressions = [{ kind: "external", status: "accepted", justification: `${f.waiver.reason} (owner ${f.waiver.owner}, until ${f.waiver.expires})` }];
        run.addResult(result);
    }
    builder.addRun(run);
    const log = builder.buildSarifOutput();
    log.runs[0].properties = { stack: r.stack, project: r.project, waivers: r.evaluation.waivers };
    return JSON.stringify(log, null, 2) + "\n";
}

/** A plan that did not get to judge the stack: the configuration was rejected or the program failed. */
export type FailureInput = { project: string; stack: string; error: string };

/** SARIF rule of a failed plan. */
export const PLAN_FAILED = "plan-failed";

/**
 * The report of a plan that failed before its policies ran, in every format, so that a pull request's comment and
 * code scanning show the failure, red and with the error, instead of keeping the previous run's green result.
 */
export function renderFailure(format: Format, r: FailureInput): string {
    const headline = `The plan of ${r.project}/${r.stack} failed before the policies ran`;
    switch (format) {
        case "text":
            return `${headline} -> FAILED\n${r.error.replace(/^/gm, "  ")}\n`;
        case "markdown":
            return [`### ❌ Security checklist: \`${r.project}/${r.stack}\``, "", `${headline}; nothing was judged.`, "", "```", r.error.replace(/`{3,}/g, "'''"), "```", ""].join("\n");
        case "json":
            return JSON.stringify({ project: r.project, stack: r.stack, summary: { passed: false }, error: r.error, findings: [] }, null, 2) + "\n";
        case "sarif": {
            const builder = new SarifBuilder();
            const run = new SarifRunBuilder().initSimple({ toolDriverName: "webapp-security-checklist", toolDriverVersion: "1.0.0" });
            run.addRule(
                new SarifRuleBuilder().initSimple({
                    ruleId: PLAN_FAILED,
                    shortDescriptionText: "The plan failed before the policies ran",
                    fullDescriptionText: "The program rejected its configuration or failed, so no control of the checklist was judged. Fix: correct what the message names and run the plan again.",
                }),
            );
            run.addResult(new SarifResultBuilder().initSimple({ ruleId: PLAN_FAILED, level: "error", messageText: `${headline}: ${r.error}`, fileUri: `Pulumi.${r.stack}.yaml` }));
            builder.addRun(run);
            const log = builder.buildSarifOutput();
            log.runs[0].properties = { stack: r.stack, project: r.project };
            return JSON.stringify(log, null, 2) + "\n";
        }
    }
}

export function render(format: Format, r: ReportInput): string {
    return { text: renderText, markdown: renderMarkdown, json: renderJson, sarif: renderSarif }[format](r);
}
