/**
 * `npm run policy-config`: writes policies/config/<stack>.json, the `--policy-pack-config` file of each stack, from
 * policies/pack-config.ts (levels per environment, waivers). tests/policies.test.ts fails when they are stale.
 */
import * as fs from "fs";
import * as path from "path";
import { packConfig } from "../policies/pack-config";

const dir = path.join(__dirname, "..", "policies", "config");
fs.mkdirSync(dir, { recursive: true });
for (const stack of ["staging", "prod"]) {
    fs.writeFileSync(path.join(dir, `${stack}.json`), JSON.stringify(packConfig(stack), null, 2) + "\n");
}
