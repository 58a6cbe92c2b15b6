"""Nightly export job: uploads a report and tells the team."""

import ftplib
import http.client
import smtplib
import telnetlib

import urllib3


def upload(report, host, user, password):
    ftp = ftplib.FTP(host)
    ftp.login(user, password)
    with open(report, "rb") as fh:
        ftp.storbinary("STOR report.csv", fh)


def upload_secure(report, host, user, password):
    ftps = ftplib.FTP_TLS(host)
    ftps.login(user, password)
    ftps.prot_p()


def notify(message, password):
    server = smtplib.SMTP("mail.example.com", 587)
    server.login("reports@example.com", password)
    server.send_message(message)


def notify_ssl(message):
    with smtplib.SMTP_SSL("mail.example.com") as server:
        server.send_message(message)


def reboot_switch(password):
    tn = telnetlib.Telnet("switch-7.example.net")
    tn.write(password.encode() + b"\n")


def pool():
    return urllib3.HTTPConnectionPool("api.example.com", maxsize=4)


def status():
    conn = http.client.HTTPConnection("status.example.com")
    conn.request("GET", "/")
    return conn.getresponse()
