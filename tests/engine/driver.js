/*
 * Test support: runs the project through the real Pulumi engine, `node driver.js <spec.json> <result.json>`.
 *
 * The Node.js language host is not available here, so the program runs as an automation API inline program in
 * this process (the SDK serves the language runtime and passes `--client` to the CLI). It is loaded the way the
 * language host loads it (@pulumi/pulumi's cmd/run): from the project directory, ts-node registered with the
 * project's tsconfig.json (whose "ts-node" options say how it transpiles), the package's `main` required. A program that `pulumi up` could not
 * load fails here too. Plain JavaScript, so that nothing else registers a TypeScript loader first.
 *
 * `up` runs as `pulumi up` does without --skip-preview: a preview (the policy pack judges the stack; a mandatory
 * finding stops here, before any step), then the update held to that preview's plan. The automation API's own
 * up() passes --skip-preview, which would let stack policies judge only after every step has run.
 *
 * spec: { projectDir, workDir, stack, op: "preview" | "up", config?: { key: value }, secretConfig?: { key: value },
 *         policyPacks?: [dir], policyPackConfigs?: [file], expectNoChanges?: bool, refresh?: bool, replace?: [urn], program?: "empty",
 *         extend?: module path, a function called with the program's exports (resources a user adds),
 *         before?: module path, a function called before each program run loads the project's modules (a change to
 *                  the code, e.g. a renderer, that the program then uses), skipPreview?: bool (op up: the
 *                  Automation API's up() alone, which is `pulumi up --skip-preview`, instead of a preview and an
 *                  update of its plan) }
 * result: { ok, error?, events: [engine events, each with its phase: "preview" or "update"], outputs?, summary?, ms, previewMs? }
 */
"use strict";
const fs = require("fs");
const path = require("path");

async function main() {
    const [specFile, resultFile] = process.argv.slice(2);
    const spec = JSON.parse(fs.readFileSync(specFile, "utf8"));
    const events = [];
    const result = { ok: false, events };
    try {
        process.chdir(spec.projectDir);
        // As @pulumi/pulumi's cmd/run registers ts-node for a TypeScript project: the tsconfig (or
        // PULUMI_NODEJS_TSCONFIG_PATH's) as ts-node's project, so its "ts-node" options apply; type checking as
        // PULUMI_NODEJS_TRANSPILE_ONLY, else the tsconfig's noCheck, else those options say.
        const tsutils = require("@pulumi/pulumi/tsutils");
        const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
        const tsConfigPath = process.env.PULUMI_NODEJS_TSCONFIG_PATH ?? "tsconfig.json";
        const compilerOptions = tsutils.loadTypeScriptCompilerOptions(tsConfigPath);
        const transpileOnlyEnv = process.env.PULUMI_NODEJS_TRANSPILE_ONLY;
        require(tsnodeRequire).register({
            compiler: typescriptRequire,
            transpileOnly: transpileOnlyEnv ? transpileOnlyEnv === "true" : compilerOptions.noCheck,
            project: tsConfigPath,
            skipProject: !fs.existsSync(tsConfigPath),
            compilerOptions: { target: "ES2020", module: "nodenext", moduleResolution: "nodenext", sourceMap: "true", ...compilerOptions },
        });
        const { LocalWorkspace } = require("@pulumi/pulumi/automation");
        const projectName = require("yaml").parse(fs.readFileSync(path.join(spec.projectDir, "Pulumi.yaml"), "utf8")).name;
        // `empty`: a program that registers nothing, the engine's fixed cost (bench/engine.ts).
        // The program runs once per operation (a preview, then the update): each run loads the project's modules
        // afresh, as a new language host process would.
        const fresh = () => {
            for (const id of Object.keys(require.cache)) if (id.startsWith(spec.projectDir + path.sep) && !id.includes(`${path.sep}node_modules${path.sep}`)) delete require.cache[id];
            if (spec.before) require(spec.before)();
            return require(spec.projectDir);
        };
        const extended = async () => {
            const exported = fresh();
            if (spec.extend) require(spec.extend)(exported);
            return exported;
        };
        const program = spec.program === "empty" ? async () => ({}) : extended;
        const stack = await LocalWorkspace.createOrSelectStack(
            { stackName: spec.stack, projectName, program },
            { workDir: spec.workDir, secretsProvider: "passphrase", envVars: {} },
        );
        // Scalars through the CLI; lists and objects (JSON) as the structured values a stack file holds, which the
        // CLI checks against Pulumi.yaml's declared types.
        const config = {};
        const structured = {};
        for (const [k, v] of Object.entries(spec.config ?? {})) {
            if (/^\s*[[{]/.test(v)) structured[k] = JSON.parse(v);
            else config[k] = { value: v };
        }
        for (const [k, v] of Object.entries(spec.secretConfig ?? {})) config[k] = { value: v, secret: true };
        if (Object.keys(config).length) await stack.setAllConfig(config);
        if (Object.keys(structured).length) {
            const YAML = require("yaml");
            const file = path.join(spec.workDir, `Pulumi.${spec.stack}.yaml`);
            const doc = YAML.parse(fs.readFileSync(file, "utf8")) ?? {};
            doc.config = { ...(doc.config ?? {}), ...structured };
            fs.writeFileSync(file, YAML.stringify(doc));
        }
        const opts = {
            policyPacks: spec.policyPacks,
            policyPackConfigs: spec.policyPackConfigs,
            expectNoChanges: spec.expectNoChanges,
            refresh: spec.refresh,
            replace: spec.replace,
            onEvent: (e) => events.push({ ...e, phase }),
        };
        const started = Date.now();
        let phase = "preview";
        if (spec.op === "up" && spec.skipPreview) {
            phase = "update";
            const up = await stack.up(opts);
            result.summary = up.summary;
        } else if (spec.op === "up") {
            const plan = path.join(spec.workDir, `plan-${process.pid}.json`);
            const preview = await stack.preview({ ...opts, plan });
            result.previewMs = Date.now() - started;
            result.previewSummary = preview.changeSummary;
            phase = "update";
            const up = await stack.up({ ...opts, plan });
            result.summary = up.summary;
            result.outputs = Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.secret ? "[secret]" : v.value]));
        } else {
            const preview = await stack.preview(opts);
            result.summary = { resourceChanges: preview.changeSummary };
        }
        result.ms = Date.now() - started;
        result.ok = true;
    } catch (err) {
        result.error = String((err && (err.stack || err.message)) || err);
        // The CLI's exit code (cmd/pulumi/cmd/exit_codes.go; 7 = --expect-no-changes found changes), which the
        // automation API reports only in its message.
        const code = /Command failed with exit code (\d+)/.exec(result.error);
        if (code) result.exitCode = Number(code[1]);
    }
    fs.writeFileSync(resultFile, JSON.stringify(result));
}

main().then(
    () => process.exit(0),
    (err) => {
        process.stderr.write(String(err && err.stack ? err.stack : err));
        process.exit(1);
    },
);
