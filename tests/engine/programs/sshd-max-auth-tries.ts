/**
 * Test code change (tests/engine.test.ts): the sshd renderer weakened to MaxAuthTries 6, as a careless edit of
 * lib/render/sshd.ts would. Called before each program run loads the project's modules, so the program's own
 * components render it: the ssh step of each HostHardening ships it.
 */
import * as path from "path";

export = () => {
    const sshd = require(path.join(__dirname, "../../../lib/render/sshd")) as typeof import("../../../lib/render/sshd");
    const render = sshd.renderSshdConfig;
    (sshd as { renderSshdConfig: typeof render }).renderSshdConfig = (...args) => {
        const out = render(...args);
        if (!out.includes("MaxAuthTries 3")) throw new Error("sshd-max-auth-tries: the renderer no longer writes MaxAuthTries 3");
        return out.replace("MaxAuthTries 3", "MaxAuthTries 6");
    };
};
