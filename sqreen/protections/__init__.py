"""Protections: pure decisions on whether a request's inputs bent a sensitive call.

A protection knows an attack, never a library: an integration hooks a
driver or a system call and hands the protection the call's text and the
current request's inputs; the protection answers with nothing or with the
description of an attack. Nothing is imported here so that loading one
protection never loads the others.
"""
