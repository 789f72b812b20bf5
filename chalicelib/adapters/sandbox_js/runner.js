globalThis.__stepline.run(() => %(script)s, %(payload)s, %(context)s)
