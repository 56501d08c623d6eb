"""pidflow.lua_bindings re-exports its public names, each once."""

import pidflow.lua_bindings as lb

PUBLIC = {"LuaProcess", "LuaBackend", "TrioBackend", "TimeSlice", "Budget", "register_module", "ModuleContext",
          "compile_check", "parse_duration", "as_pid", "ALWAYS_AVAILABLE", "DEFAULT_MAX_MEMORY",
          "local_process_body", "local_function", "ProcessPort", "KINDS", "check_lua_code",
          "CODE_KEYS", "CODE_KEY_DOCS", "SOURCE_KEY", "Imports", "Library", "lua_imports", "import_references",
          "check_imports_of"}


def test_public_names_are_exactly_the_documented_ones():
    assert {n for n in vars(lb) if not n.startswith("_")} == PUBLIC
