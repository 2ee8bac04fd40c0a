/**
 * One idempotent host step: an apply script (lib/render/apply-script.ts) run over SSH as root.
 *
 * The script is the step's `create` command, so it is known at the first `pulumi preview`: the engine shows it,
 * and the policy pack judges every file, mode, owner and command before any step runs. Values that exist only
 * during the update (generated secrets, a new database's address) are placeholders in the script and arrive on
 * stdin; a step that carries a secret has its stdin, trigger and output marked secret.
 *
 * A change of the script or of a value replaces the step (its triggers are their hashes), which runs the new
 * script; the script itself leaves unchanged files alone, so a rerun with the same input changes nothing.
 */
import * as command from "@pulumi/command";
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { ApplyScript, renderApplyScript, renderPayload, stepCommand } from "../lib/render/apply-script";
import type { SshConnection } from "./vps";

export type RemoteStepArgs = {
    connection: pulumi.Input<SshConnection>;
    /** The script. It must not depend on values unknown before the update: pass those in `values`/`secrets`. */
    script: pulumi.Input<ApplyScript>;
    /** Values unknown until the update (provider outputs), by placeholder name (`lateValue`). Default: none. */
    values?: Record<string, pulumi.Input<string>>;
    /** Secrets by placeholder name (`secretValue`); the step's stdin, trigger and output are then secret. Default: none. */
    secrets?: Record<string, pulumi.Input<string>>;
};

export const scriptHash = (script: string) => crypto.createHash("sha256").update(script).digest("hex");

/**
 * Runs a renderer for a step inside an apply. A renderer refusing its input then fails the program naming the
 * step (the SDK would report only the property it could not serialize, and drop the resource).
 */
export function renderFor<T>(step: string, render: () => T): T {
    try {
        return render();
    } catch (err) {
        throw new Error(`${step}: ${(err as Error).message}`);
    }
}

export function remoteStep(name: string, args: RemoteStepArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    const values = args.values ?? {};
    const secrets = args.secrets ?? {};
    const names = [...Object.keys(values), ...Object.keys(secrets)];
    const dup = Object.keys(values).filter((k) => k in secrets);
    if (dup.length) throw new Error(`${name}: ${dup.join(", ")} given both as a value and as a secret`);
    const secret = Object.keys(secrets).length > 0;
    const create = pulumi.output(args.script).apply((spec) => renderFor(name, () => stepCommand(renderApplyScript({ ...spec, values: names }))));
    const all = { ...values, ...secrets };
    const payload = names.length ? pulumi.all(all).apply((v) => renderPayload(v as Record<string, string>)) : undefined;
    const stdin = payload && secret ? pulumi.secret(payload) : payload;
    return new command.remote.Command(
        name,
        {
            connection: args.connection,
            create,
            stdin,
            triggers: [create.apply(scriptHash), ...(stdin ? [stdin.apply(scriptHash)] : [])],
            // The scripts print file paths and change markers, never file contents or values.
            logging: "stdoutAndStderr",
            // The previous run's output would be passed through sshd's AcceptEnv, which the hardened sshd refuses.
            addPreviousOutputInEnv: false,
        },
        { ...opts, additionalSecretOutputs: secret ? ["stdout", "stderr"] : [] },
    );
}
