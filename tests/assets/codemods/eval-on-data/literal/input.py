DEFAULT_SIZES = eval("[64, 128, 256]")
LIMITS = eval("{'low': 1, 'high': -5}")
NOW = eval("__import__('time').time()")

exec("GREETING = 'hello'")
exec(
    "import json\n"
    "DUMP = json.dumps"
)
