/**
 * Host drift: a managed file as it is on the host against what its step installs. Content, mode and owner are
 * compared; a content difference comes with a unified diff in which no secret can appear. Pure.
 */
import { createTwoFilesPatch } from "diff";
import { ManagedFile } from "../lib/render/apply-script";
import { DeployedStep, wantedContent } from "./deployment";

/** A file as the probe read it on the host. */
export type LiveFile = { path: string; exists: false } | { path: string; exists: true; mode: string; owner: string; content: string };

export type FileDrift = {
    path: string;
    /** The step that writes the file: replacing it writes the file again. */
    step: DeployedStep;
    /** What differs, e.g. `missing`, `content`, `mode 0644 (wanted 0600)`. */
    problems: string[];
    /** Unified diff, wanted (`a/`) against the host (`b/`), secrets redacted. Empty when only mode or owner differ. */
    diff: string;
};

const octal = (mode: string) => parseInt(mode, 8);
const showMode = (mode: string) => octal(mode).toString(8).padStart(4, "0");

/** The text with every secret value of the step replaced by a marker naming it. */
function redactValues(text: string, step: DeployedStep): string {
    let out = text;
    // Longest first, so a secret that contains another is replaced whole.
    for (const name of [...step.secretNames].sort((a, b) => (step.values[b] ?? "").length - (step.values[a] ?? "").length)) {
        const value = step.values[name];
        if (value) out = out.split(value).join(`[secret ${name}]`);
    }
    return out;
}

/**
 * The unified diff of a file, wanted against live, that shows no secret: the step's secret values are replaced by
 * markers on both sides, and in a file that holds a secret, a line only the host has (perhaps another secret, such
 * as an old password) is shown as a marker too.
 */
export function redactedDiff(step: DeployedStep, file: ManagedFile, live: string): string {
    const holdsSecret = step.secretNames.some((n) => file.content.includes(`@@secret:${n}@@`));
    const patch = createTwoFilesPatch(`a${file.path}`, `b${file.path}`, redactValues(wantedContent(step, file), step), redactValues(live, step), "wanted", "on the host", { context: 2 });
    const lines = patch.split("\n").slice(1); // the first line is the separator `====`
    return lines
        .map((l) => (holdsSecret && l.startsWith("+") && !l.startsWith("+++") ? "+[a line of a file that holds secrets, not shown]" : l))
        .join("\n")
        .trimEnd();
}

/** How a managed file on the host differs from what its step installs; undefined when it does not. */
export function fileDrift(step: DeployedStep, file: ManagedFile, live: LiveFile): FileDrift | undefined {
    if (!live.exists) return { path: file.path, step, problems: ["missing"], diff: "" };
    const problems: string[] = [];
    let diff = "";
    if (live.content !== wantedContent(step, file)) {
        problems.push("content");
        diff = redactedDiff(step, file, live.content);
    }
    const mode = file.mode ?? "0644";
    if (octal(live.mode) !== octal(mode)) problems.push(`mode ${showMode(live.mode)} (wanted ${showMode(mode)})`);
    const owner = file.owner ?? "root:root";
    if (live.owner !== owner) problems.push(`owner ${live.owner} (wanted ${owner})`);
    return problems.length ? { path: file.path, step, problems, diff } : undefined;
}
