import ftplib as f
import requests as rq
from httpx import AsyncClient as Client
from requests import get as http_get
from smtplib import SMTP as Mailer
from telnetlib import Telnet
from urllib.request import urlopen as fetch
from urllib3 import HTTPConnectionPool as Pool


async def run(data):
    a = f.FTP("files.example.com")
    b = rq.put("http://api.example.com/items", data=data)
    c = http_get("http://api.example.com/items")
    d = Mailer("mail.example.com")
    e = Telnet("router.example.net", 23)
    g = fetch("http://api.example.com/ping")
    h = Pool("api.example.com", port=80)
    async with Client() as client:
        i = await client.get("http://api.example.com/async")
    return a, b, c, d, e, g, h, i
