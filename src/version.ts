// The tstap version, printed by --version, and the SystemTap language
// version tstap follows (what `systemtap_v` is, unless --compatible says older).
export const VERSION = "0.1.0";
export const STAP_LANGUAGE_VERSION = "5.0";
