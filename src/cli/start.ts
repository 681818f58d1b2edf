// The plain entry point (bin/tstap uses it when no startup snapshot was built).

import { runCli } from "./main.js";

runCli(process.argv.slice(2));
