"""Plain HTTP only where no public network is crossed, and URIs that name no endpoint."""

import ftplib
import smtplib
import xml.etree.ElementTree as ET

import requests
import urllib3

XSD = "{http://www.w3.org/2001/XMLSchema}"
METADATA = "http://169.254.169.254/latest/meta-data/"


def local_calls(payload):
    requests.get("http://localhost:8080/health")
    requests.get("http://127.0.0.1:9200/_cluster/health")
    requests.get("http://127.8.0.1/")
    requests.get("http://[::1]:8000/")
    requests.get("http://0.0.0.0:5000/")
    requests.post("http://10.0.3.7/api", json=payload)
    requests.post("http://172.20.0.2:8000/api", json=payload)
    requests.post("http://192.168.1.20/api", json=payload)
    requests.get("http://[fd12:3456:789a::1]/")
    requests.get(METADATA + "instance-id")
    requests.get("http://metadata.google.internal/computeMetadata/v1/")
    requests.get("http://printer.local/status")
    requests.get("http://elasticsearch:9200/")
    requests.get("https://api.example.com/")


def schemas():
    requests.get("http://www.w3.org/2001/XMLSchema")
    requests.get("http://schemas.xmlsoap.org/soap/envelope/")
    requests.get("http://example.com/schemas/order.xsd")
    return ET.Element(XSD + "schema")


def local_clients():
    ftplib.FTP("127.0.0.1")
    smtplib.SMTP("localhost", 25)
    urllib3.HTTPConnectionPool("localhost:8080")
    return "http://api.example.com/"  # a URL not passed to a client
