/**
 * Preview-only stand-ins for the `hcloud` (1.41.0) and `aws` (7.48.0) providers (test code only; their Go
 * modules are not served here). `node preview-only.ts <hcloud|aws> <engine address>`.
 *
 * Check echoes the inputs; Diff compares them (any change is an update; nothing is replaced); Create, Update
 * and Delete are refused, so no `pulumi up` can pretend to have made a cloud resource (Create only records, where a
 * test asks for it: PREVIEW_ONLY_RECORD_CREATES). The data sources the
 * program reads at preview answer with fixed values in the providers' forms (the AWS example account,
 * documentation-range ids). Differs from the real providers: no validation of inputs against the schema, no
 * computed defaults, no replacement on ForceNew properties, no real API.
 */
import * as fs from "fs";
import * as provider from "@pulumi/pulumi/provider";
import { same } from "./support";

const [name] = process.argv.slice(2);
const VERSIONS: Record<string, string> = { hcloud: "1.41.0", aws: "7.48.0" };
if (!VERSIONS[name]) throw new Error(`preview-only: unknown provider ${name}`);

const ACCOUNT = "123456789012";

/**
 * With PREVIEW_ONLY_RECORD_CREATES naming a file, Create appends the resource's URN there and answers with its
 * inputs and a made-up id, so an update runs on until the engine stops it (nothing is made; without it, Create is
 * refused).
 */
const FAKE_CREATES = process.env.PREVIEW_ONLY_RECORD_CREATES;

const INVOKES: Record<string, (inputs: Record<string, any>) => Record<string, unknown>> = {
    "aws:index/getCallerIdentity:getCallerIdentity": () => ({ id: ACCOUNT, accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/deployer`, userId: "AIDAEXAMPLEDEPLOYER01" }),
    "aws:ec2/getAmi:getAmi": (inputs) => ({ ...inputs, id: "ami-0123456789abcdef0", architecture: "x86_64", name: "debian-12-amd64-20261101-1950", ownerId: "136693071363", rootDeviceType: "ebs" }),
    "aws:index/getAvailabilityZones:getAvailabilityZones": (inputs) => ({ ...inputs, id: "eu-central-1", names: ["eu-central-1a", "eu-central-1b", "eu-central-1c"], zoneIds: ["euc1-az2", "euc1-az3", "euc1-az1"], groupNames: ["eu-central-1"] }),
    "aws:ec2/getSubnets:getSubnets": (inputs) => ({ ...inputs, id: "eu-central-1", ids: ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1", "subnet-0123456789abcdef2"] }),
};

const refuse = (what: string) => {
    throw new Error(`the ${name} stand-in is preview-only: it does not ${what} cloud resources`);
};

const previewOnly: provider.Provider = {
    version: VERSIONS[name],
    async check(_urn, _olds, news) {
        return { inputs: news };
    },
    async diff(_id, _urn, olds, news) {
        const keys = [...new Set([...Object.keys(news), ...Object.keys(olds)])];
        return { changes: keys.some((k) => !same(olds[k], news[k])), replaces: [] };
    },
    async create(urn, inputs) {
        // Recorded, not made: an update that must stop before a resource is created (tests/engine.test.ts).
        if (!FAKE_CREATES) return refuse("create");
        fs.appendFileSync(FAKE_CREATES, `${urn}\n`);
        return { id: `${urn.split("::").slice(-1)[0]}-recorded`, outs: inputs };
    },
    async update() {
        return refuse("update");
    },
    async delete() {
        return refuse("delete");
    },
    async invoke(token, inputs) {
        const answer = INVOKES[token];
        if (!answer) return { failures: [{ property: "", reason: `the ${name} stand-in does not answer ${token}` }] };
        return { outputs: answer(inputs) };
    },
};

void provider.main(previewOnly, process.argv.slice(3));
