/**
 * `npm run sync:pulumi-yaml`: rewrites the `config:` block of Pulumi.yaml from lib/config-schema.ts, so the
 * schema `pulumi config` users see is the one the program validates. tests/config-schema.test.ts fails when
 * they differ. Keys that are optional without a default are left out: the CLI would require them.
 */
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { CONFIG_KEYS, ConfigKeySpec } from "../lib/config-schema";

const file = path.join(__dirname, "..", "Pulumi.yaml");
const text = fs.readFileSync(file, "utf8");
const head = text.slice(0, text.indexOf("\nconfig:\n") + 1);
if (!head) throw new Error("Pulumi.yaml has no top-level config: block");
const config: Record<string, unknown> = {};
for (const [key, spec] of Object.entries(CONFIG_KEYS) as [string, ConfigKeySpec][]) {
    if (spec.optional) continue;
    config[key] = {
        type: spec.type,
        ...(spec.type === "array" ? { items: { type: "string" } } : {}),
        description: spec.description,
        ...(spec.default !== undefined ? { default: spec.default } : {}),
    };
}
fs.writeFileSync(file, head + stringify({ config }, { lineWidth: 0 }));
