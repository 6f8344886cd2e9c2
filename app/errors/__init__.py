"""How failures leave the app: error pages (blueprint "errors") and, in debug mode only,
a deliberate crash to try the debugger on (blueprint "debugging")."""
