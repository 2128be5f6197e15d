// node --import ./github_register.mjs: installs github_hooks.mjs before the parser loads.
import { register } from "node:module";
register("./github_hooks.mjs", import.meta.url);
