// Node-RED settings for the side-by-side benchmark (bench/cmd/bench starts it).
// Loopback only, no editor, no admin API, no auth; warnings only in the log.
module.exports = {
    uiHost: "127.0.0.1",
    uiPort: Number(process.env.PORT || 1880),
    httpAdminRoot: false,          // no editor and no admin API
    httpNodeRoot: "/",
    credentialSecret: false,
    flowFilePretty: true,
    logging: { console: { level: "warn", metrics: false, audit: false } },
    diagnostics: { enabled: false },
    runtimeState: { enabled: false },
    externalModules: { autoInstall: false },
    functionExternalModules: false,
    editorTheme: { tours: false }
};
