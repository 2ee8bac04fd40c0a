/**
 * Test code change (tests/engine.test.ts): the public rule set of lib/net.ts opens SSH to the whole internet, as a
 * careless edit would. Called before each program run loads the project's modules, so the program's cloud
 * firewall carries the rule.
 */
import * as path from "path";

export = () => {
    const net = require(path.join(__dirname, "../../../lib/net")) as typeof import("../../../lib/net");
    const rules = net.inboundRules;
    (net as { inboundRules: typeof rules }).inboundRules = (args) => [...rules(args), { description: "SSH from anywhere", protocol: "tcp", port: args.sshPort, sources: ["0.0.0.0/0"] }];
};
