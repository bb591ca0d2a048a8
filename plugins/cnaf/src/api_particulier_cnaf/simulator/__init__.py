"""A local stand-in for CNAF's SOAP service, to try and test the live backend.

It speaks the recorded wire format (MTOM multipart, escaped ``drtData`` document), serves
the sandbox households, and insists on a client certificate like the real service.
"""
