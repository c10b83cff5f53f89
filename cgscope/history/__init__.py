"""History: frames and events recorded to disk (`cgscope record`), read back by `cgscope replay` and
`cgscope report`. Headless: no UI library; the recorder, the replay source and the report stand on it."""
