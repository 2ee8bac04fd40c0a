/**
 * The pack configuration a stack is judged with, as the engine gets it: the file `pulumi preview
 * --policy-pack-config` reads (default `policies/config/<stack>.json`), so that a level changed there changes the
 * plan's and verify's verdicts too; a stack without such a file gets the generated configuration
 * (`policies/pack-config.ts`).
 */
import * as fs from "fs";
import * as path from "path";
import { PackConfig, packConfig } from "../policies/pack-config";
import type { Environment } from "../policies/checklist";

export function stackPackConfig(o: { root: string; stack: string; environment: Environment; file?: string }): PackConfig {
    const file = o.file ?? path.join(o.root, "policies", "config", `${o.stack}.json`);
    if (!fs.existsSync(file)) {
        if (o.file) throw new Error(`--policy-pack-config: no file ${file}`);
        return packConfig(o.stack, o.environment);
    }
    return JSON.parse(fs.readFileSync(file, "utf8")) as PackConfig;
}
