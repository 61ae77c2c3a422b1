// Grows an array until memory runs out, catching the failure and trying again.
var config = { hosts: { domain: 'a.example', muc: 'conference.a.example' } };
var hoard = [];
while (true) {
    try { hoard.push(new Array(100000).fill(hoard.length)); } catch (e) { hoard.length = hoard.length; }
}
