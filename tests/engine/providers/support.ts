/**
 * Shared by the stand-in providers (test code only): secret values as the engine sends them to a provider that
 * accepts secrets, and log lines to the engine attached to a resource, as real providers send them.
 */
import * as grpc from "@grpc/grpc-js";
import * as enginerpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import * as engineproto from "@pulumi/pulumi/proto/engine_pb";

/** The engine's marker of a secret value (`sdk/go/common/resource/sig`). */
const SIG = "4dabf18193072939515e22adb298388d";
const SECRET = "1b47061264138c4ac30d75fd1eb44270";

export const isSecret = (v: unknown): v is { value: unknown } => !!v && typeof v === "object" && (v as Record<string, unknown>)[SIG] === SECRET;
export const secret = (value: unknown) => ({ [SIG]: SECRET, value });

/** The value with every secret marker removed. */
export function reveal(v: unknown): any {
    if (isSecret(v)) return reveal(v.value);
    if (Array.isArray(v)) return v.map(reveal);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x)]));
    return v;
}

/** Top-level input names whose values (anywhere inside) are secret. */
export function secretKeys(inputs: Record<string, unknown>): Set<string> {
    const has = (v: unknown): boolean => isSecret(v) || (Array.isArray(v) ? v.some(has) : !!v && typeof v === "object" && Object.values(v).some(has));
    return new Set(Object.keys(inputs).filter((k) => has(inputs[k])));
}

/** Outputs that keep the secretness of the inputs they come from (as the real providers' state does). */
export function keepSecret(outs: Record<string, unknown>, secretInputs: Set<string>, alsoSecret: string[] = []): Record<string, unknown> {
    return Object.fromEntries(Object.entries(outs).map(([k, v]) => [k, secretInputs.has(k) || alsoSecret.includes(k) ? secret(reveal(v)) : v]));
}

/** Deep equality of two JSON-like values (after revealing secrets). */
export const same = (a: unknown, b: unknown) => JSON.stringify(reveal(a) ?? null) === JSON.stringify(reveal(b) ?? null);

/** Log lines to the engine, shown with the resource like a real provider's (pulumi-command streams its output so). */
export class EngineLog {
    private client?: InstanceType<typeof enginerpc.EngineClient>;

    constructor(address: string | undefined) {
        if (address) this.client = new enginerpc.EngineClient(address, grpc.credentials.createInsecure());
    }

    info(urn: string, message: string): Promise<void> {
        const client = this.client;
        if (!client) return Promise.resolve();
        const req = new engineproto.LogRequest();
        req.setSeverity(engineproto.LogSeverity.INFO);
        req.setMessage(message);
        req.setUrn(urn);
        return new Promise((resolve) => client.log(req, () => resolve()));
    }
}

/** The engine address a provider is started with (its first argument). */
export const engineAddress = (args: string[]) => args.find((a) => !a.startsWith("-"));

/** The resource type in a URN (`urn:pulumi:stack::project::parent$type::name`). */
export const typeOf = (urn: string) => urn.split("::")[2].split("$").slice(-1)[0];
